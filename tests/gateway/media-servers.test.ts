import { Readiness } from '../../core/readiness';
import { FreeswitchReadiness, MediaServerPool } from '../../gateway/media-servers';
import { FakeMediaServer } from '../fakes/freeswitch';
import { expectCleanTeardown, harness, JIGASI_1, until, type Harness } from './harness';

/** FREESWITCH_SERVERS (SPEC §6): each call's two channels on one server, the least busy; a lost one ends only its calls. */

interface TwoServers {
  h: Harness;
  servers: [FakeMediaServer, FakeMediaServer];
  up: [boolean, boolean];
}

async function twoServers(): Promise<TwoServers> {
  const h = await harness({}, { [JIGASI_1]: Array.from({ length: 8 }, () => ({ status: 200 })) });
  const bed: TwoServers = { h, servers: [new FakeMediaServer(), new FakeMediaServer()], up: [true, true] };
  const pool = new MediaServerPool(bed.servers.map((server, index) => ({ name: `fs${index + 1}:8021`, current: () => (bed.up[index] ? server : undefined) })));
  const fakes = h.callDependencies.bind(h);
  h.callDependencies = () => ({ ...fakes(), media: pool });
  return bed;
}

/** A caller who types a PIN and reaches the conference; resolves when bridged. */
async function callerInConference(bed: TwoServers, pin: string) {
  const before = bed.servers.map((server) => server.endpoints.length);
  const call = bed.h.invite();
  // The caller's endpoint, at the PIN prompt (the Jigasi leg's is made beside it while the caller types).
  const callerEndpoint = () => bed.servers.flatMap((server, index) => server.endpoints.slice(before[index])).find((endpoint) => endpoint.holdsEntry);
  await until(() => callerEndpoint() !== undefined, 'the PIN prompt');
  const endpoint = callerEndpoint()!;
  const server = bed.servers.find((candidate) => candidate.endpoints.includes(endpoint))!;
  endpoint.pressKeys(`${pin}#`);
  await until(() => bed.h.registry.list().find((live) => live.id === call.call.id)?.state === 'bridged', 'the bridge');
  return { ...call, server };
}

describe('several FreeSWITCH servers', () => {
  it('puts each call on the server with the fewest calls, both channels on the same one', async () => {
    const bed = await twoServers();
    const pin = (await bed.h.directory.createPin('rat', {}, 'test')).pin;
    const calls = [];
    for (let n = 0; n < 4; n++) calls.push(await callerInConference(bed, pin));
    expect(calls.map((call) => bed.servers.indexOf(call.server))).toEqual([0, 1, 0, 1]);
    expect(bed.servers.map((server) => server.endpoints.length)).toEqual([4, 4]);
    for (const server of bed.servers) {
      const bridged = server.endpoints.filter((endpoint) => endpoint.bridgedWith !== undefined);
      expect(bridged).toHaveLength(2);
      for (const callerLeg of bridged) expect(server.endpoints).toContain(callerLeg.bridgedWith);
    }
    bed.h.srf.uasDialogs.forEach((dialog) => dialog.receiveBye());
    await Promise.all(calls.map(async (call) => call.done));
    expectCleanTeardown(bed.h);
    await bed.h.close();
  });

  it('ends only the calls of a server that dies, and takes new calls on the other at once', async () => {
    const bed = await twoServers();
    const pin = (await bed.h.directory.createPin('rat', {}, 'test')).pin;
    const first = await callerInConference(bed, pin);
    const second = await callerInConference(bed, pin);
    bed.up[0] = false;
    bed.servers[0].die();
    await first.done;
    // In the conference a lost FreeSWITCH ends the call as "completed" (call-outcome.ts): the caller had their meeting.
    expect(await bed.h.record(first.call.id)).toMatchObject({ outcome: 'completed' });
    expect(bed.h.registry.list().map((live) => [live.id, live.state])).toEqual([[second.call.id, 'bridged']]);
    const third = await callerInConference(bed, pin);
    expect(third.server).toBe(bed.servers[1]);

    bed.up[0] = true;
    const fourth = await callerInConference(bed, pin);
    expect(fourth.server).toBe(bed.servers[0]);
    bed.h.registry.list().forEach((live) => bed.h.registry.hangUp(live.id));
    await Promise.all([second.done, third.done, fourth.done]);
    await bed.h.close();
  });

  it('answers 503 when no server is connected', async () => {
    const bed = await twoServers();
    bed.up = [false, false];
    const call = bed.h.invite();
    await call.done;
    expect(call.res.finalStatus).toBe(503);
    await bed.h.close();
  });
});

describe('the readiness of several FreeSWITCH servers', () => {
  it('is up while one is, names those that are down, and shows each', () => {
    const readiness = new Readiness([]);
    const states = new FreeswitchReadiness(readiness, ['fs1:8021', 'fs2:8021']);
    expect(readiness.problems()).toEqual({ freeswitch: 'fs1:8021: not connected yet; fs2:8021: not connected yet' });
    states.up('fs2:8021');
    expect(readiness.problems()).toEqual({});
    expect(readiness.details()).toEqual({ freeswitch: { 'fs1:8021': 'down', 'fs2:8021': 'up' } });
    states.lost('fs2:8021', 'event socket closed');
    expect(readiness.problems()).toEqual({ freeswitch: 'fs1:8021: not connected yet; fs2:8021: event socket closed' });
  });

  it('says just the reason with one server, as before', () => {
    const readiness = new Readiness([]);
    const states = new FreeswitchReadiness(readiness, ['127.0.0.1:8021']);
    states.lost('127.0.0.1:8021', 'connect ECONNREFUSED 127.0.0.1:8021');
    expect(readiness.problems()).toEqual({ freeswitch: 'connect ECONNREFUSED 127.0.0.1:8021' });
    expect(readiness.details()).toEqual({});
  });
});
