import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * CORS for the public Jitsi endpoints: only the origins of CORS_ORIGINS ("*" allows any).
 * The returned function answers a preflight itself and then returns true.
 */
export function corsFor(allowedOrigins: string[]): (req: IncomingMessage, res: ServerResponse) => boolean {
  const anyOrigin = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins);
  return (req, res) => {
    res.setHeader('Vary', 'Origin');
    const origin = req.headers.origin;
    if (origin !== undefined && (anyOrigin || allowed.has(origin))) {
      res.setHeader('Access-Control-Allow-Origin', anyOrigin ? '*' : origin);
      res.setHeader('Access-Control-Allow-Methods', 'GET, OPTIONS');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    if (req.method !== 'OPTIONS') return false;
    res.writeHead(204).end();
    return true;
  };
}
