/** The service's REST API, with the session cookie (same origin). */

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The body field the API named ("body.label: …"), for an error shown next to it. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** What to do when the session is gone (expired, signed out elsewhere): show the sign-in. */
let onSignedOut: () => void = () => undefined;
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export async function api<T>(method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiFailure(0, 'network', 'the service cannot be reached');
  }
  if (response.status === 204) return undefined as T;
  const payload = (await response.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
  if (!response.ok) {
    const code = payload?.error?.code ?? 'unknown';
    const message = payload?.error?.message ?? `HTTP ${response.status}`;
    if (response.status === 401 && path !== '/api/v1/session') onSignedOut();
    throw new ApiFailure(response.status, code, message, /^body\.(\w+):/.exec(message)?.[1]);
  }
  return payload as T;
}

export const roomPath = (room: string) => `/api/v1/rooms/${encodeURIComponent(room)}`;

export interface Session {
  name: string;
  role: 'admin' | 'clerk' | 'viewer';
}

export interface Room {
  name: string;
  title: string | null;
  hasPassword: boolean;
  startMuted: boolean;
  dialInPublic: boolean;
  listeners: 'separate' | 'shared';
  pinCount?: number;
}

export interface Pin {
  id: string;
  room: string;
  pin: string;
  label: string | null;
  role: 'speaker' | 'listener';
  validFrom: string | null;
  validUntil: string | null;
  source: 'admin' | 'mapper';
  createdAt: string;
  lastUsedAt: string | null;
}

export interface LiveCall {
  id: string;
  direction: 'in' | 'out';
  room: string | null;
  label: string | null;
  role: 'speaker' | 'listener' | null;
  caller: string;
  state: string;
  muted: boolean;
  startedAt: string;
  /** A listener on the room's shared leg: that leg's id. */
  sharedLeg?: string;
  /** The shared leg itself: how many listeners it carries. */
  listeners?: number;
}

export interface AuditEntry {
  at: string;
  sub: string;
  action: string;
  target: string;
}

export interface Settings {
  municipality: string;
  dialInNumbers: Array<{ countryCode: string; formattedNumber: string }>;
  callRecordRetentionDays: number;
}

export interface Status {
  ready: boolean;
  components: Record<'database' | 'drachtio' | 'freeswitch', { state: 'up' | 'down'; reason?: string }>;
  jigasi: Array<{ uri: string; state: string }>;
  freeswitchServers: Array<{ name: string; state: string }>;
  calls: number;
}

export interface Trunk {
  name: string;
  registrar: string;
  state: 'registered' | 'failing' | 'off';
  lastStatus: number | null;
  since: string | null;
}
