import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The Prometheus registry of the process and the metrics every part shares. No labels carry personal data. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'dialin_http_requests_total',
      help: 'HTTP requests answered, by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'dialin_http_request_duration_seconds',
      help: 'Time to answer an HTTP request',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    callsEnded: new Counter({
      name: 'dialin_calls_ended_total',
      help: 'Admitted calls by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    callsRefused: new Counter({
      name: 'dialin_calls_refused_total',
      help: 'INVITEs refused before any media, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    activeCalls: new Gauge({
      name: 'dialin_calls_active',
      help: 'Calls in progress',
      registers: [registry],
    }),
    sharedListeners: new Gauge({
      name: 'dialin_shared_listeners',
      help: 'Listeners on a shared Jigasi leg, per room',
      labelNames: ['room'] as const,
      registers: [registry],
    }),
    sharedLegs: new Gauge({
      name: 'dialin_shared_legs',
      help: 'Shared listeners\' Jigasi legs up or being brought up',
      registers: [registry],
    }),
    pinEntriesSlowed: new Counter({
      name: 'dialin_pin_entries_slowed_total',
      help: 'PIN entries that waited for their answer because callers over all got too many PINs wrong this hour',
      registers: [registry],
    }),
    dialOutsRefused: new Counter({
      name: 'dialin_dial_outs_refused_total',
      help: 'Dial-outs not placed, by reason (not-allowed, denied, hourly-cap, concurrency-cap, no-trunk, media-unavailable, busy, room)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    trunkRegistered: new Gauge({
      name: 'dialin_trunk_registered',
      help: 'Whether the trunk is registered with its provider (1) or not (0)',
      labelNames: ['trunk'] as const,
      registers: [registry],
    }),
    trunkRegistrations: new Counter({
      name: 'dialin_trunk_registrations_total',
      help: "REGISTERs sent for a trunk, by the registrar's final status (408: no answer)",
      labelNames: ['trunk', 'status'] as const,
      registers: [registry],
    }),
    unexpectedErrors: new Counter({
      name: 'dialin_unexpected_errors_total',
      help: 'Errors nothing expected: in a call (which it ended) or anywhere in the process (logged, survived)',
      labelNames: ['boundary'] as const,
      registers: [registry],
    }),
    pinToJigasiInvite: new Histogram({
      name: 'dialin_pin_to_jigasi_invite_seconds',
      help: 'From the end of PIN entry (the "#") to the INVITE leaving for Jigasi',
      buckets: [0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
