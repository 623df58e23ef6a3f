import type { RequestHandler } from 'express';

/** CORS for the public Jitsi endpoints: only the origins of CORS_ORIGINS ("*" allows any). */
export function corsFor(allowedOrigins: string[]): RequestHandler {
  const anyOrigin = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins);
  return (req, res, next) => {
    res.setHeader('Vary', 'Origin');
    const origin = req.get('origin');
    if (origin !== undefined && (anyOrigin || allowed.has(origin))) {
      res.setHeader('Access-Control-Allow-Origin', anyOrigin ? '*' : origin);
      res.setHeader('Access-Control-Allow-Methods', 'GET, OPTIONS');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  };
}
