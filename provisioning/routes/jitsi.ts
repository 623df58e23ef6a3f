import { z } from 'zod';
import { ApiError } from '../http/errors';
import { WindowCounter } from '../http/rate-limit';
import { definePublicRoute, type PublicRouteSpec } from '../http/public-route';
import { normaliseRoomName, roomJid } from '../room-name';
import type { ApiDependencies } from './deps';

/**
 * The two public endpoints Jitsi Meet's invite dialog calls (jitsi-contract.md). No token:
 * browsers call them. Guessing PINs through ?id= and filling the database through
 * ?conference= are both limited per client address.
 */

const mapperQuery = z.object({
  conference: z.string().max(512).optional(),
  id: z.string().max(32).optional(),
  url: z.string().max(2048).optional(),
});

const phoneNumberQuery = z.object({ conference: z.string().max(512).optional() });

const MINUTE_MS = 60_000;
const LOOKUP_MISSES_PER_MINUTE = 30;
const MAPPER_CREATIONS_PER_MINUTE = 30;

export function jitsiRoutes({ directory, config }: ApiDependencies, now: () => number = Date.now): PublicRouteSpec[] {
  const lookupMisses = new WindowCounter(LOOKUP_MISSES_PER_MINUTE, MINUTE_MS, now);
  const creations = new WindowCounter(MAPPER_CREATIONS_PER_MINUTE, MINUTE_MS, now);
  const dialInNumbers = config.dialInNumbers.map((number, index) => ({
    countryCode: number.countryCode,
    tollFree: false,
    formattedNumber: number.formattedNumber,
    default: index === 0,
  }));
  const tooMany = () => new ApiError(429, 'rate-limited', 'too many requests from this address; try again in a minute');

  async function byPin(id: string, client: string) {
    if (!/^\d{1,12}$/.test(id)) throw new ApiError(400, 'malformed-request', 'id must be a PIN of digits');
    if (lookupMisses.isOverLimit(client)) throw tooMany();
    const room = await directory.roomOfPin(id);
    if (room === undefined) lookupMisses.count(client);
    return { id: Number(id), conference: room === undefined ? false : roomJid(room, config.jitsiMucDomain) };
  }

  async function byConference(conference: string, client: string) {
    const name = normaliseRoomName(conference, config.jitsiMucDomain);
    if (!name.ok) {
      throw name.problem === 'foreign-domain'
        ? new ApiError(404, 'unknown-domain', name.message)
        : new ApiError(422, 'invalid-room', name.message);
    }
    const mayCreate = !creations.isOverLimit(client);
    const found = await directory.publicPin(name.room, mayCreate);
    if (!found) {
      if (config.mapperAutoCreate && !mayCreate) throw tooMany();
      throw new ApiError(404, 'no-pin', 'this room has no dial-in PIN');
    }
    if (found.created) creations.count(client);
    const { pin } = found;
    return {
      message: 'Successfully retrieved conference mapping',
      id: Number(pin.pin),
      conference: roomJid(name.room, config.jitsiMucDomain),
    };
  }

  return [
    definePublicRoute({
      method: 'get',
      path: '/conferenceMapper',
      summary: "Jitsi Meet's conference mapper: ?conference=room@muc gives the room's PIN, ?id=PIN gives the room",
      query: mapperQuery,
      responses: { 200: 'the mapping', 404: 'unknown MUC domain, or no PIN and auto-creation is off', 429: 'too many lookups' },
      answer: async ({ query, client }) => {
        if (query.id !== undefined) return byPin(query.id, client);
        if (query.conference !== undefined) return byConference(query.conference, client);
        throw new ApiError(400, 'malformed-request', 'pass ?conference=room@muc or ?id=PIN');
      },
    }),
    definePublicRoute({
      method: 'get',
      path: '/phoneNumberList',
      summary: "Jitsi Meet's dial-in number list (array shape)",
      query: phoneNumberQuery,
      responses: { 200: 'the numbers' },
      answer: () => dialInNumbers,
    }),
  ];
}
