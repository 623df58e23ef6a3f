import { ApiError } from '../http/errors';
import { defineRoute, type RouteSpec } from '../http/route';
import { toIsoTime } from '../http/schemas';
import type { ApiDependencies } from './deps';

export function callRoutes({ liveCalls, directory }: ApiDependencies): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/calls',
      scope: 'dialin:read',
      summary: 'Calls in progress on this gateway (callers masked)',
      responses: { 200: 'the calls' },
      handle: ({ res }) => {
        res.json({ items: liveCalls.list().map((call) => ({ ...call, startedAt: toIsoTime(call.startedAt) })) });
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/calls/:id',
      scope: 'dialin:admin',
      summary: 'Hang a call up',
      responses: { 204: 'the call is being hung up' },
      handle: async ({ req, res, actor }) => {
        const id = String(req.params.id);
        if (!liveCalls.hangUp(id)) throw new ApiError(404, 'not-found', `no call ${id} in progress`);
        await directory.audit(actor, 'call.kick', id);
        res.status(204).end();
      },
    }),
  ];
}
