import { defineRoute, type RouteSpec } from '../http/route';
import type { ApiDependencies } from './deps';

export function healthRoutes({ readiness, metrics, store }: ApiDependencies): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      summary: 'The process runs',
      responses: { 200: 'ok' },
      handle: ({ res }) => {
        res.json({ status: 'ok' });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      summary: 'Database, drachtio-server and FreeSWITCH are connected; 503 names what is down',
      responses: { 200: 'ready', 503: 'something is down' },
      handle: async ({ res }) => {
        const down = readiness.problems();
        try {
          await store.ping();
        } catch (error) {
          down.database = (error as Error).message;
        }
        const ready = Object.keys(down).length === 0;
        res.status(ready ? 200 : 503).json(ready ? { status: 'ready' } : { status: 'unavailable', down });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics',
      responses: { 200: 'metrics in the Prometheus text format' },
      handle: async ({ res }) => {
        res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      },
    }),
  ];
}
