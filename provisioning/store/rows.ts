import type { ListenerMode, PinRecord, PinSource, RoomRecord } from './store';

/** Rows of the pins and rooms tables as both databases hand them out (SQLite's booleans are 0 and 1). */

export interface PinRow {
  id: string;
  room: string;
  pin: string;
  label: string | null;
  role: 'speaker' | 'listener';
  valid_from: number | null;
  valid_until: number | null;
  source: PinSource;
  created_at: number;
  last_used_at: number | null;
}

export interface RoomRow {
  name: string;
  title: string | null;
  password: string | null;
  start_muted: number | boolean;
  dial_in_public: number | boolean;
  listeners: ListenerMode;
  created_by: PinSource;
  created_at: number;
  updated_at: number;
}

export const toPin = (row: PinRow): PinRecord => ({
  id: row.id,
  room: row.room,
  pin: row.pin,
  label: row.label,
  role: row.role,
  validFrom: row.valid_from,
  validUntil: row.valid_until,
  source: row.source,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

export const toRoom = (row: RoomRow): RoomRecord => ({
  name: row.name,
  title: row.title,
  password: row.password,
  startMuted: Boolean(row.start_muted),
  dialInPublic: Boolean(row.dial_in_public),
  listeners: row.listeners,
  createdBy: row.created_by,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});
