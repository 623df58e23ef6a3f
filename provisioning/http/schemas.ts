import type { Request } from 'express';
import { z } from 'zod';
import { normaliseRoomName } from '../room-name';
import type { PinRecord, RoomRecord, RoomSummary } from '../store/store';
import { ApiError } from './errors';

/**
 * Request schemas and response shapes of the admin API. Labels, titles and passwords end
 * up in SIP headers and log-adjacent places, so control characters, quotes and angle
 * brackets are refused.
 */

// JSON may carry half of a UTF-16 pair ("\udfff"): stored or compared, it would turn into U+FFFD and never match.
const WELL_FORMED = /^\P{Cs}*$/u;
const NOT_WELL_FORMED = 'must be well-formed Unicode (a lone UTF-16 surrogate is not a character)';

export const wellFormedText = (max: number) => z.string().min(1).max(max).regex(WELL_FORMED, NOT_WELL_FORMED);

export const safeText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}"<>\\]+$/u, 'must not contain control characters, quotes, backslashes or angle brackets')
    .regex(WELL_FORMED, NOT_WELL_FORMED);

const isoTimestamp = z.iso.datetime({ offset: true }).transform((value) => Date.parse(value));

export const roomBody = z.strictObject({
  title: safeText(200).nullable().optional(),
  password: safeText(64).nullable().optional(),
  /** null: back to the default (not muted). */
  startMuted: z.boolean().nullable().optional(),
  /** null: back to the default (separate). */
  listeners: z.enum(['separate', 'shared']).nullable().optional(),
  /** null: back to the default (public unless the room has a password or a PIN an administrator made). */
  dialInPublic: z.boolean().nullable().optional(),
});

export const pinRole = z.enum(['speaker', 'listener']);

export const newPinBody = z.strictObject({
  label: safeText(64).nullable().optional(),
  role: pinRole.optional(),
  pin: z.string().optional(),
  validFrom: isoTimestamp.nullable().optional(),
  validUntil: isoTimestamp.nullable().optional(),
});

export const pinChangesBody = z.strictObject({
  label: safeText(64).nullable().optional(),
  role: pinRole.optional(),
  validFrom: isoTimestamp.nullable().optional(),
  validUntil: isoTimestamp.nullable().optional(),
});

export const auditQuery = z.object({
  after: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function pinJson(pin: PinRecord) {
  return {
    id: pin.id,
    room: pin.room,
    pin: pin.pin,
    label: pin.label,
    role: pin.role,
    validFrom: iso(pin.validFrom),
    validUntil: iso(pin.validUntil),
    source: pin.source,
    createdAt: iso(pin.createdAt),
    lastUsedAt: iso(pin.lastUsedAt),
  };
}

export function roomJson(room: RoomRecord) {
  return {
    name: room.name,
    title: room.title,
    hasPassword: room.password !== null,
    startMuted: room.startMuted,
    dialInPublic: room.dialInPublic,
    listeners: room.listeners,
    createdAt: iso(room.createdAt),
    updatedAt: iso(room.updatedAt),
  };
}

export function roomSummaryJson(room: RoomSummary) {
  return { ...roomJson(room), pinCount: room.pinCount };
}

export { iso as toIsoTime };

/** The {room} path parameter, normalised; a bad or foreign name is a 422. */
export function roomParam(req: Request, mucDomain: string): string {
  const result = normaliseRoomName(String(req.params.room), mucDomain);
  if (!result.ok) throw new ApiError(422, 'invalid-room', result.message);
  return result.room;
}
