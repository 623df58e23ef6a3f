import { defineRoute, type RouteSpec } from '../http/route';
import { auditQuery, toIsoTime } from '../http/schemas';
import type { ApiDependencies } from './deps';

export function auditRoutes({ directory }: ApiDependencies): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/audit',
      scope: 'dialin:read',
      summary: 'Admin writes, newest first; pass "next" as ?after= for the next page',
      query: auditQuery,
      responses: { 200: 'a page of audit entries' },
      handle: async ({ res, query }) => {
        const entries = await directory.listAudit(query.limit + 1, query.after);
        const page = entries.slice(0, query.limit);
        res.json({
          items: page.map(({ at, sub, action, target }) => ({ at: toIsoTime(at), sub, action, target })),
          next: entries.length > query.limit ? String(page[page.length - 1]!.id) : null,
        });
      },
    }),
  ];
}
