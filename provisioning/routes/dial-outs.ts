import { z } from 'zod';
import { maskCallerNumber } from '../../core/privacy';
import type { DialOutRefusal, DialOutView } from '../dial-outs';
import { ApiError } from '../http/errors';
import { defineRoute, type RouteSpec } from '../http/route';
import { roomParam, safeText, toIsoTime } from '../http/schemas';
import { roomJid } from '../room-name';
import type { ApiDependencies } from './deps';

const dialOutBody = z.strictObject({
  /** E.164 or national; checked against DIALOUT_ALLOWED and the deny list by the gateway. */
  number: z.string().trim().min(3).max(32),
  label: safeText(64).nullable().optional(),
});

const REFUSED: Record<DialOutRefusal, { status: number; code: string }> = {
  'number-not-allowed': { status: 422, code: 'number-not-allowed' },
  'too-many': { status: 429, code: 'too-many-dial-outs' },
  unavailable: { status: 503, code: 'dial-out-unavailable' },
};

const dialOutJson = (dialOut: DialOutView) => ({
  ...dialOut,
  startedAt: toIsoTime(dialOut.startedAt),
  ...(dialOut.endedAt === undefined ? {} : { endedAt: toIsoTime(dialOut.endedAt) }),
});

export function dialOutRoutes({ dialOuts, directory, config }: ApiDependencies): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/rooms/:room/dial-outs',
      scope: 'dialin:admin',
      summary: 'Call a number into the room: the callee hears who calls and joins with 1',
      body: dialOutBody,
      responses: { 202: 'the call is being placed', 422: 'number-not-allowed', 429: 'too many dial-outs', 503: 'no trunk or media' },
      handle: async ({ req, res, body, actor }) => {
        const name = roomParam(req, config.jitsiMucDomain);
        const { room } = await directory.getRoom(name);
        const placement = await dialOuts.place({
          number: body.number,
          label: body.label ?? null,
          room: { room: room.name, roomJid: roomJid(room.name, config.jitsiMucDomain), password: room.password, startMuted: room.startMuted },
        });
        if (!placement.placed) {
          const { status, code } = REFUSED[placement.refusal];
          throw new ApiError(status, code, placement.detail);
        }
        await directory.audit(actor, 'dial-out.place', `${room.name} ${maskCallerNumber(body.number)} ${placement.dialOut.id}`);
        res.status(202).json(dialOutJson(placement.dialOut));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/dial-outs/:id',
      scope: 'dialin:read',
      summary: 'A dial-out: in progress, or how it ended',
      responses: { 200: 'the dial-out' },
      handle: async ({ req, res }) => {
        const id = String(req.params.id);
        const dialOut = await dialOuts.get(id);
        if (!dialOut) throw new ApiError(404, 'not-found', `no dial-out ${id}`);
        res.json(dialOutJson(dialOut));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/dial-outs/:id',
      scope: 'dialin:admin',
      summary: 'Hang a dial-out up',
      responses: { 204: 'it is being hung up' },
      handle: async ({ req, res, actor }) => {
        const id = String(req.params.id);
        if (!dialOuts.hangUp(id)) throw new ApiError(404, 'not-found', `no dial-out ${id} in progress`);
        await directory.audit(actor, 'dial-out.hang-up', id);
        res.status(204).end();
      },
    }),
  ];
}
