import { defineRoute, type RouteSpec } from '../http/route';
import type { ApiDependencies } from './deps';
import { problemsNow } from './health';

/** What the admin console shows beside rooms, PINs and calls: how the parts stand, and what its letters print. */
export function consoleRoutes({ readiness, store, liveCalls, config }: ApiDependencies): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/status',
      scope: 'dialin:read',
      summary: 'Database, drachtio-server, FreeSWITCH (each of several) and each Jigasi: up or down, with the reason; calls in progress',
      responses: { 200: 'the status' },
      handle: async ({ res }) => {
        const down = await problemsNow(readiness, store);
        const state = (name: string) => (down[name] === undefined ? { state: 'up' } : { state: 'down', reason: down[name] });
        const { jigasi = {}, freeswitch = {} } = readiness.details();
        res.json({
          ready: Object.keys(down).length === 0,
          components: {
            database: state('database'),
            drachtio: state('drachtio'),
            freeswitch: state('freeswitch'),
          },
          jigasi: Object.entries(jigasi).map(([uri, jigasiState]) => ({ uri, state: jigasiState })),
          // FREESWITCH_SERVERS: each one; empty with a single FreeSWITCH (its state is the component's).
          freeswitchServers: Object.entries(freeswitch).map(([name, serverState]) => ({ name, state: serverState })),
          calls: liveCalls.list().length,
        });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/settings',
      scope: 'dialin:read',
      summary: 'What the console prints in its letters: the municipality, the dial-in numbers, how long call records are kept',
      responses: { 200: 'the settings' },
      handle: ({ res }) => {
        res.json({
          municipality: config.municipality,
          dialInNumbers: config.dialInNumbers,
          callRecordRetentionDays: config.callRecordRetentionDays,
          language: config.language,
        });
      },
    }),
  ];
}
