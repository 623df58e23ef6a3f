import { z } from 'zod';
import { limitKey } from '../http/client-address';
import { ApiError } from '../http/errors';
import { WindowLimiter } from '../http/rate-limit';
import { MapperRoomsExhaustedError } from '../store/store';
import { definePublicRoute, type PublicRouteSpec } from '../http/public-route';
import { normaliseRoomName, roomJid } from '../room-name';
import type { ApiDependencies } from './deps';

/**
 * The two public endpoints Jitsi Meet's invite dialog calls (jitsi-contract.md). No token:
 * browsers call them, and any web page can make a browser call them. Guessing PINs through
 * ?id= and filling the database through ?conference= are both limited per client address
 * (an IPv6 /64), counted before the first await; rooms the mapper makes are limited per hour
 * and in all (MAPPER_MAX_ROOMS). Only public rooms (dialInPublic) are ever shown.
 */

const mapperQuery = z.object({
  conference: z.string().max(512).optional(),
  id: z.string().max(32).optional(),
  url: z.string().max(2048).optional(),
});

const phoneNumberQuery = z.object({ conference: z.string().max(512).optional() });

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const LOOKUP_MISSES_PER_MINUTE = 30;
const MAPPER_CREATIONS_PER_MINUTE = 30;
/** Over all clients: drive-by requests from many browsers must not fill the database in an hour. */
const MAPPER_CREATIONS_PER_HOUR = 500;
const EVERYONE = 'everyone';

/** Jitsi Meet shows no PIN unless both are truthy; the same answer for a closed room as for an unknown one. */
const noMapping = () =>
  new ApiError(404, 'no-pin', 'No conference mapping was found', { message: 'No conference mapping was found', id: false, conference: false });

export function jitsiRoutes({ directory, config }: ApiDependencies, now: () => number = Date.now): PublicRouteSpec[] {
  const lookupMisses = new WindowLimiter(LOOKUP_MISSES_PER_MINUTE, MINUTE_MS, now);
  const creations = new WindowLimiter(MAPPER_CREATIONS_PER_MINUTE, MINUTE_MS, now);
  const creationsThisHour = new WindowLimiter(MAPPER_CREATIONS_PER_HOUR, HOUR_MS, now);
  const dialInNumbers = config.dialInNumbers.map((number, index) => ({
    countryCode: number.countryCode,
    tollFree: false,
    formattedNumber: number.formattedNumber,
    default: index === 0,
  }));
  const tooMany = () => new ApiError(429, 'rate-limited', 'too many requests from this address; try again in a minute');

  async function byPin(id: string, client: string) {
    if (!/^\d{1,12}$/.test(id)) throw new ApiError(400, 'malformed-request', 'id must be a PIN of digits');
    const key = limitKey(client);
    if (!lookupMisses.take(key)) throw tooMany();
    const room = await directory.roomOfPin(id);
    if (room !== undefined) lookupMisses.refund(key);
    return { id: Number(id), conference: room === undefined ? false : roomJid(room, config.jitsiMucDomain) };
  }

  /** Reserves one room the mapper may make for this client; false (nothing reserved) past a limit. */
  function reserveCreation(key: string): boolean {
    if (!creations.take(key)) return false;
    if (creationsThisHour.take(EVERYONE)) return true;
    creations.refund(key);
    return false;
  }

  async function byConference(conference: string, client: string) {
    const name = normaliseRoomName(conference, config.jitsiMucDomain);
    if (!name.ok) {
      throw name.problem === 'foreign-domain'
        ? new ApiError(404, 'unknown-domain', name.message)
        : new ApiError(422, 'invalid-room', name.message);
    }
    const key = limitKey(client);
    const mayCreate = config.mapperAutoCreate && reserveCreation(key);
    let found;
    try {
      found = await directory.publicPin(name.room, mayCreate);
    } catch (error) {
      if (!(error instanceof MapperRoomsExhaustedError)) throw error;
      throw new ApiError(429, 'mapper-full', 'the conference mapper makes no more rooms (MAPPER_MAX_ROOMS); ask the operator');
    } finally {
      if (mayCreate && !found?.created) {
        creations.refund(key);
        creationsThisHour.refund(EVERYONE);
      }
    }
    if (!found) {
      if (config.mapperAutoCreate && !mayCreate) throw tooMany();
      throw noMapping();
    }
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
      responses: {
        200: 'the mapping',
        404: 'unknown MUC domain, or no mapping: the room is closed to dial-in (dialInPublic false), or unknown and auto-creation is off',
        429: 'too many lookups or new rooms from this address, too many new rooms this hour, or MAPPER_MAX_ROOMS reached',
      },
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
