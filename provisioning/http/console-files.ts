import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import express, { type Router } from 'express';

/**
 * The admin console's files at /admin/ (built by `npm run build` into dist/console). Everything
 * comes from this service: no CDN, no external font; the policy forbids anything else, inline
 * scripts included, and being framed by another site.
 */
export const CONSOLE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** dist/console, seen from this module both in the sources and in dist/. */
export function builtConsoleDir(): string {
  const root = resolve(__dirname, '../..');
  return basename(root) === 'dist' ? join(root, 'console') : join(root, 'dist', 'console');
}

export function consoleFiles(dir: string): Router {
  const router = express.Router();
  router.use('/admin', (_req, res, next) => {
    res.set({
      'Content-Security-Policy': CONSOLE_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    });
    if (!existsSync(join(dir, 'index.html'))) {
      res.status(503).type('text/plain').send('The admin console is not built: run npm run build.\n');
      return;
    }
    next();
  });
  router.use('/admin', express.static(dir, { index: 'index.html', redirect: true, dotfiles: 'deny', fallthrough: true }));
  return router;
}
