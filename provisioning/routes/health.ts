import { verifyBearer } from '../http/auth';
import { defineRoute, type RouteSpec } from '../http/route';
import type { Readiness } from '../../core/readiness';
import type { Store } from '../store/store';
import type { ApiDependencies } from './deps';

/** What is down now, the database asked at this moment: for /readyz and the console's status. */
export async function problemsNow(readiness: Readiness, store: Pick<Store, 'ping'>): Promise<Record<string, string>> {
  const down = readiness.problems();
  try {
    await store.ping();
  } catch (error) {
    down.database = (error as Error).message;
  }
  return down;
}

export function healthRoutes({ readiness, metrics, store, config }: ApiDependencies): RouteSpec[] {
  /** The reasons name internal addresses and errors: only a reader of the API sees them. */
  const mayReadDetails = (authorization: string | undefined) => {
    try {
      verifyBearer(config.auth, authorization, 'dialin:read');
      return true;
    } catch {
      return false;
    }
  };
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
      summary: 'Database, drachtio-server, FreeSWITCH and a Jigasi are reachable; 503 names what is down (why, with a read token), or says draining',
      responses: { 200: 'ready', 503: 'something is down' },
      handle: async ({ req, res }) => {
        const down = await problemsNow(readiness, store);
        const detailed = mayReadDetails(req.get('authorization'));
        const details = detailed ? readiness.details() : {};
        if (readiness.draining) {
          // A load balancer sends no new work here; the calls in progress go on.
          res.status(503).json({ status: 'draining', ...details });
          return;
        }
        const ready = Object.keys(down).length === 0;
        if (ready) {
          res.json({ status: 'ready', ...details });
          return;
        }
        const shown = detailed ? down : Object.fromEntries(Object.keys(down).map((name) => [name, 'down']));
        res.status(503).json({ status: 'unavailable', down: shown, ...details });
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
