import { z } from 'zod';
import type { MuteOutcome } from '../live-calls';
import { ApiError } from '../http/errors';
import { defineRoute, type RouteSpec } from '../http/route';
import { toIsoTime } from '../http/schemas';
import type { ApiDependencies } from './deps';

const muteBody = z.strictObject({ muted: z.boolean() });

/** Why a mute or unmute did not happen, as the API answers it. */
const MUTE_REFUSALS: Partial<Record<MuteOutcome, [status: number, code: string, message: string]>> = {
  'not-found': [404, 'not-found', 'no such call in progress'],
  'not-in-conference': [409, 'not-in-conference', 'the caller is not in the conference (yet, or any more)'],
  listener: [409, 'listener', 'a listener PIN cannot be unmuted'],
  'refused-by-jitsi': [409, 'refused-by-jitsi', 'the conference did not allow the unmute (a moderator muted this caller)'],
  'refused-by-freeswitch': [502, 'media-refused', 'the media server refused the change; the caller is as before'],
};

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
      method: 'patch',
      path: '/api/v1/calls/:id',
      scope: 'dialin:admin',
      summary: 'Mute or unmute a caller as a moderator would (the caller hears it, Jitsi shows it)',
      body: muteBody,
      responses: { 200: 'the call', 404: 'no such call', 409: 'not possible now', 502: 'the media server refused' },
      handle: async ({ req, res, body, actor }) => {
        const id = String(req.params.id);
        const outcome = await liveCalls.setMuted(id, body.muted);
        const refusal = MUTE_REFUSALS[outcome];
        if (refusal) throw new ApiError(...refusal);
        await directory.audit(actor, body.muted ? 'call.mute' : 'call.unmute', id);
        const call = liveCalls.list().find((live) => live.id === id);
        if (!call) throw new ApiError(404, 'not-found', 'the call ended meanwhile');
        res.json({ ...call, startedAt: toIsoTime(call.startedAt) });
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
