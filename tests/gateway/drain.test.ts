import { Readiness } from '../../core/readiness';
import { Drain } from '../../gateway/drain';
import { FakeResponse } from '../fakes/drachtio';
import { expectCleanTeardown, inConference, until, type Harness } from './harness';

/** SIGTERM (SPEC §6 graceful drain): no new calls, the calls in progress go on, then end with a word to the caller. */

function drainOf(h: Harness, handOffInvites?: () => void) {
  const readiness = new Readiness([]);
  return { readiness, drain: new Drain({ registry: h.registry, readiness, handOffInvites, log: h.callDependencies().logger }) };
}

describe('a draining process', () => {
  it('refuses new calls with 503 and Retry-After, says so to /readyz, and lets a call in progress go on to its end', async () => {
    const c = await inConference();
    const handOffs: string[] = [];
    const { drain, readiness } = drainOf(c.h, () => handOffs.push('invite'));
    const drained = drain.run(3600);
    expect(drain.active).toBe(true);
    expect(readiness.draining).toBe(true);
    expect(handOffs).toEqual(['invite']);
    const res = new FakeResponse();
    drain.refuse(res);
    expect(res.sent).toEqual([{ status: 503, reason: undefined, headers: { 'Retry-After': '60' } }]);

    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(c.h.registry.list()[0]).toMatchObject({ state: 'bridged' });
    expect(c.caller.played.flat()).not.toContain('/prompts/de/service-ending.wav');
    c.h.srf.uasDialogs[0]!.receiveBye();
    await drained;
    await c.done;
    expect(await c.h.record(c.callId)).toMatchObject({ outcome: 'completed' });
    expectCleanTeardown(c.h);
    await c.h.close();
  });

  it('ends the calls still up after DRAIN_SECONDS: the caller in the conference hears why, one typing the PIN is just hung up', async () => {
    const c = await inConference();
    const typing = c.h.invite();
    await until(() => c.h.media.endpoints.some((endpoint) => endpoint !== c.caller && endpoint.holdsEntry), 'the second caller at the PIN prompt');
    const { drain } = drainOf(c.h);
    await drain.run(0.2);
    await Promise.all([c.done, typing.done]);
    expect(c.caller.played.flat().join(' ')).toMatch(/service-ending\.wav.*goodbye\.wav/);
    expect(c.jigasi.byesSent).toBe(1);
    expect(c.h.srf.uasDialogs[0]!.byesSent).toBe(1);
    expect(await c.h.record(c.callId)).toMatchObject({ outcome: 'service-stopped' });
    expect(await c.h.record(typing.call.id)).toMatchObject({ outcome: 'service-stopped' });
    expectCleanTeardown(c.h);
    await c.h.close();
  });

  it('ends the calls at once on a second SIGTERM', async () => {
    const c = await inConference();
    const { drain } = drainOf(c.h);
    const cutShort = new AbortController();
    const drained = drain.run(3600, cutShort.signal);
    await new Promise((resolve) => setTimeout(resolve, 50));
    cutShort.abort();
    await drained;
    await c.done;
    expect(c.caller.played.flat()).toContain('/prompts/de/service-ending.wav');
    expectCleanTeardown(c.h);
    await c.h.close();
  });
});
