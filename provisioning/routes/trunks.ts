import { defineRoute, type RouteSpec } from '../http/route';
import { toIsoTime } from '../http/schemas';
import type { ApiDependencies } from './deps';

export function trunkRoutes({ trunks }: ApiDependencies): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/trunks',
      scope: 'dialin:read',
      summary: 'The SIP trunks the gateway registers with, and how their registration stands',
      responses: { 200: 'the trunks' },
      handle: ({ res }) => {
        res.json({
          items: trunks.list().map((trunk) => ({ ...trunk, since: toIsoTime(trunk.since), expiresAt: toIsoTime(trunk.expiresAt) })),
        });
      },
    }),
  ];
}
