import { randomBytes } from 'node:crypto';
import { CUSTOM_PIN_PROBLEM_MESSAGES, customPinProblem, generatePin, type DigitSource } from './pin-rules';
import {
  PinTakenError,
  type NewPin,
  type PinChanges,
  type PinRecord,
  type PinRole,
  type PinSource,
  type RoomChanges,
  type RoomRecord,
  type Store,
} from './store/store';

/**
 * The PIN directory: rooms and their PINs as the administrator and Jitsi Meet see them.
 * Every admin write lands in the audit log under the token's subject.
 */

export type DirectoryErrorKind = 'not-found' | 'conflict' | 'invalid';

export class DirectoryError extends Error {
  constructor(
    readonly kind: DirectoryErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DirectoryError';
  }
}

export interface NewPinRequest {
  label?: string | null;
  role?: PinRole;
  pin?: string;
  validFrom?: number | null;
  validUntil?: number | null;
}

export interface DirectoryOptions {
  store: Store;
  pinLength: number;
  mapperAutoCreate: boolean;
  /** MAPPER_MAX_ROOMS: the mapper makes no room past this many. */
  mapperMaxRooms: number;
  mapperPinTtlDays: number;
  now?: () => number;
  digitSource?: DigitSource;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Collisions among random PINs are rare; this bound only guards against a nearly full PIN space. */
const GENERATION_ATTEMPTS = 50;

function newPinId(): string {
  return `pin_${randomBytes(9).toString('base64url')}`;
}

export class PinDirectory {
  private readonly store: Store;
  private readonly now: () => number;

  constructor(private readonly options: DirectoryOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
  }

  async listRooms() {
    return this.store.listRooms();
  }

  async getRoom(name: string): Promise<{ room: RoomRecord; pins: PinRecord[] }> {
    const room = await this.store.getRoom(name);
    if (!room) throw new DirectoryError('not-found', `room "${name}" does not exist`);
    return { room, pins: await this.store.listPins(name) };
  }

  async putRoom(name: string, changes: RoomChanges, actor: string) {
    const result = await this.store.upsertRoom(name, changes, 'admin', this.now());
    await this.audit(actor, result.created ? 'room.create' : 'room.update', name);
    return result;
  }

  async deleteRoom(name: string, actor: string): Promise<void> {
    if (!(await this.store.deleteRoom(name))) throw new DirectoryError('not-found', `room "${name}" does not exist`);
    await this.audit(actor, 'room.delete', name);
  }

  async listPins(room: string): Promise<PinRecord[]> {
    if (!(await this.store.getRoom(room))) throw new DirectoryError('not-found', `room "${room}" does not exist`);
    return this.store.listPins(room);
  }

  async createPin(room: string, request: NewPinRequest, actor: string): Promise<PinRecord> {
    checkValidity(request.validFrom ?? null, request.validUntil ?? null);
    if (request.pin !== undefined) {
      const problem = customPinProblem(request.pin);
      if (problem) throw new DirectoryError('invalid', CUSTOM_PIN_PROBLEM_MESSAGES[problem]);
    }
    const { pin, roomCreated } = await this.insert(room, request, 'admin');
    if (roomCreated) await this.audit(actor, 'room.create', room);
    await this.audit(actor, 'pin.create', `${pin.id} in ${room}`);
    return pin;
  }

  async updatePin(id: string, changes: PinChanges, actor: string): Promise<PinRecord> {
    const current = await this.store.getPin(id);
    if (!current) throw new DirectoryError('not-found', `PIN ${id} does not exist`);
    checkValidity(
      changes.validFrom !== undefined ? changes.validFrom : current.validFrom,
      changes.validUntil !== undefined ? changes.validUntil : current.validUntil,
    );
    const updated = await this.store.updatePin(id, changes);
    if (!updated) throw new DirectoryError('not-found', `PIN ${id} does not exist`);
    await this.audit(actor, 'pin.update', id);
    return updated;
  }

  async deletePin(id: string, actor: string): Promise<void> {
    if (!(await this.store.deletePin(id))) throw new DirectoryError('not-found', `PIN ${id} does not exist`);
    await this.audit(actor, 'pin.delete', id);
  }

  async audit(actor: string, action: string, target: string): Promise<void> {
    return this.store.appendAudit({ at: this.now(), sub: actor, action, target });
  }

  async listAudit(limit: number, beforeId?: number) {
    return this.store.listAudit(limit, beforeId);
  }

  /**
   * The PIN Jitsi Meet shows in its invite dialog, for a room that is public (dialInPublic): its
   * oldest working label-less speaker PIN, made on the spot (source "mapper") when there is none,
   * creation is on (MAPPER_AUTO_CREATE) and the caller of this method allows it. A closed room
   * gets undefined, as an unknown one does: the mapper does not tell them apart.
   */
  async publicPin(room: string, mayCreate: boolean): Promise<{ pin: PinRecord; created: boolean } | undefined> {
    const record = await this.store.getRoom(room);
    if (record && !record.dialInPublic) return undefined;
    const existing = await this.store.findPublicPin(room, this.now());
    if (existing) return { pin: existing, created: false };
    if (!this.options.mapperAutoCreate || !mayCreate) return undefined;
    const { pin } = await this.insert(room, {}, 'mapper');
    return { pin, created: true };
  }

  /** The room of a PIN that works now or later, in a public room, for Jitsi Meet's reverse lookup. */
  async roomOfPin(digits: string): Promise<string | undefined> {
    const pin = await this.store.findRoomOfPin(digits);
    if (!pin || (pin.validUntil !== null && pin.validUntil <= this.now())) return undefined;
    return pin.room;
  }

  /** Deletes mapper-made PINs nobody dialled for MAPPER_PIN_TTL_DAYS. */
  async purgeUnusedMapperPins(): Promise<number> {
    return this.store.purgeUnusedMapperPins(this.now() - this.options.mapperPinTtlDays * DAY_MS);
  }

  private async insert(room: string, request: NewPinRequest, source: PinSource) {
    const now = this.now();
    const record = (digits: string): NewPin => ({
      id: newPinId(),
      room,
      pin: digits,
      label: request.label ?? null,
      role: request.role ?? 'speaker',
      validFrom: request.validFrom ?? null,
      validUntil: request.validUntil ?? null,
      source,
      createdAt: now,
    });
    if (request.pin !== undefined) {
      try {
        return await this.store.insertPin(record(request.pin), now, this.options.mapperMaxRooms);
      } catch (error) {
        if (error instanceof PinTakenError) throw new DirectoryError('conflict', 'this PIN is already in use; choose another or let the service generate one');
        throw error;
      }
    }
    for (let attempt = 0; attempt < GENERATION_ATTEMPTS; attempt++) {
      const digits = generatePin(this.options.pinLength, this.options.digitSource);
      // A generated PIN never takes over an expired one: fresh digits are cheap, surprises are not.
      if (await this.store.findPinByDigits(digits)) continue;
      try {
        return await this.store.insertPin(record(digits), now, this.options.mapperMaxRooms);
      } catch (error) {
        if (!(error instanceof PinTakenError)) throw error;
      }
    }
    throw new Error(`no free PIN of ${this.options.pinLength} digits found in ${GENERATION_ATTEMPTS} attempts; raise PIN_LENGTH`);
  }
}

function checkValidity(validFrom: number | null, validUntil: number | null): void {
  if (validFrom !== null && validUntil !== null && validUntil <= validFrom) {
    throw new DirectoryError('invalid', 'validUntil must be later than validFrom');
  }
}
