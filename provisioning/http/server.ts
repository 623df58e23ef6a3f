import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { TrustedSources } from '../../core/config';
import { plainAddress } from '../../core/ip-address';
import { isTrustedProxy, limitKey } from './client-address';

/**
 * The HTTP server and its own defences, set explicitly rather than left to Node's defaults: a
 * client that sends its headers slowly, keeps connections idle, or opens hundreds of them must
 * not hold the service. A trusted reverse proxy (TRUSTED_PROXIES) carries many clients' requests
 * over its connections and is not capped.
 */

export const HTTP_LIMITS = {
  /** The whole request head must arrive within this (slowloris). */
  headersTimeoutMs: 10_000,
  /** The whole request, body included. */
  requestTimeoutMs: 30_000,
  /** A connection that sends nothing at all is closed after this (the two above start with a first byte). */
  idleTimeoutMs: 10_000,
  /** An idle keep-alive connection is closed after this; a reverse proxy's upstream keep-alive must be shorter. */
  keepAliveTimeoutMs: 5_000,
  /** Open connections per client address (an IPv6 /64); more are closed at once. */
  connectionsPerAddress: 32,
  /** Open connections in all, below the process's file descriptor limit. */
  connections: 10_000,
  /** How often the timeouts above are checked (Node's default is 30 s). */
  checkEveryMs: 2_000,
} as const;

export function createHttpServer(handle: (req: IncomingMessage, res: ServerResponse) => void, trustedProxies: TrustedSources): Server {
  const server = createServer(
    {
      headersTimeout: HTTP_LIMITS.headersTimeoutMs,
      requestTimeout: HTTP_LIMITS.requestTimeoutMs,
      keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
      connectionsCheckingInterval: HTTP_LIMITS.checkEveryMs,
    },
    handle,
  );
  server.maxConnections = HTTP_LIMITS.connections;
  server.timeout = HTTP_LIMITS.idleTimeoutMs;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = plainAddress(socket.remoteAddress ?? '');
    if (isTrustedProxy(trustedProxies, address)) return;
    const key = limitKey(address);
    const count = (open.get(key) ?? 0) + 1;
    if (count > HTTP_LIMITS.connectionsPerAddress) {
      socket.destroy();
      return;
    }
    open.set(key, count);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left === 0) open.delete(key);
      else open.set(key, left);
    });
  });
  return server;
}
