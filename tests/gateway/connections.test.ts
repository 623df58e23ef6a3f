import { Connection } from 'drachtio-modesl';
import Endpoint from 'drachtio-fsmrf/lib/endpoint';
import { connectDrachtio, leanEndpoints } from '../../gateway/connections';
import { loadConfig } from '../../core/config';
import { createLogger } from '../../core/logger';
import { Readiness } from '../../core/readiness';
import { LogCapture, testEnv } from '../support/service';
import { tuneEslParser } from '../../gateway/esl-parser';
import { FreeswitchRefused, type MediaEndpoint } from '../../gateway/sip';
import { FakeDialog } from '../fakes/drachtio';
import { FakeFreeswitchChannel } from '../fakes/freeswitch-esl';
import { until } from './harness';

/**
 * The adapter the call sees FreeSWITCH through (gateway/connections.ts), on the real
 * drachtio-fsmrf Endpoint and drachtio-modesl Connection, with a fake FreeSWITCH at the other
 * end of a real event socket.
 */

interface Leg {
  channel: FakeFreeswitchChannel;
  /** drachtio-fsmrf's own endpoint, before the adapter changes it. */
  raw: Endpoint;
  dialog: FakeDialog;
  close: () => void;
}

const open: Array<() => void> = [];
afterEach(() => open.splice(0).forEach((close) => close()));
beforeAll(() => tuneEslParser());

// drachtio-fsmrf reports a killed connection's ECONNRESET with console.error, which these tests cause on purpose.
beforeEach(() => jest.spyOn(console, 'error').mockImplementation(() => undefined));
afterEach(() => jest.restoreAllMocks());

async function freeswitchLeg(): Promise<Leg> {
  const { channel, appSocket, close } = await FakeFreeswitchChannel.open();
  open.push(close);
  const connection = new Connection(appSocket);
  await new Promise<void>((resolve) => connection.once('esl::ready', resolve));
  const dialog = new FakeDialog('uac', 'v=0 drachtio-offer', 'v=0 fs-answer');
  channel.onBye = () => dialog.receiveBye();
  return { channel, raw: new Endpoint(connection, dialog, {}, {}), dialog, close };
}

async function lean(leg: Leg): Promise<MediaEndpoint> {
  return leanEndpoints({ createEndpoint: async () => leg.raw }).createEndpoint();
}

const settledWithin = async (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => 'settled'), new Promise((resolve) => setTimeout(() => resolve('pending'), ms))]);

describe("the gateway's view of a FreeSWITCH endpoint", () => {
  it('gives an API command FreeSWITCH\'s reply, and refuses with it on "-ERR"', async () => {
    const leg = await freeswitchLeg();
    const endpoint = await lean(leg);

    await expect(endpoint.command('uuid_audio', `${endpoint.uuid} start read mute -4`)).resolves.toBe('+OK Success\n');
    leg.channel.apiReplies.uuid_audio = '-ERR Cannot locate session!\n';
    const refused = endpoint.command('uuid_audio', `${endpoint.uuid} stop`);

    await expect(refused).rejects.toBeInstanceOf(FreeswitchRefused);
    await expect(refused).rejects.toMatchObject({ command: 'uuid_audio', reply: '-ERR Cannot locate session!' });
    expect(leg.channel.commands).toContain(`api uuid_audio ${endpoint.uuid} stop`);
  });

  it('rejects every command once FreeSWITCH is gone, after telling the call through "destroy"', async () => {
    const leg = await freeswitchLeg();
    const endpoint = await lean(leg);
    let destroyed = 0;
    endpoint.on('destroy', () => destroyed++);

    leg.channel.kill();
    await until(() => destroyed === 1, 'the endpoint to report its end');

    await expect(endpoint.command('uuid_displace', `${endpoint.uuid} start x.wav 0 mux`)).rejects.toThrow('endpoint no longer active');
  });

  it('ends on FreeSWITCH\'s BYE after a hangup, as drachtio-fsmrf does', async () => {
    const leg = await freeswitchLeg();
    const endpoint = await lean(leg);

    await endpoint.destroy();

    expect(leg.channel.commands.some((command) => command.startsWith('sendmsg'))).toBe(true);
    expect(leg.dialog.byesReceived).toBe(1);
  });

  it('also ends when FreeSWITCH dies before its BYE, where drachtio-fsmrf alone never would', async () => {
    const raw = await freeswitchLeg();
    raw.channel.hangupPending = true;
    const rawDestroy = raw.raw.destroy();
    await until(() => raw.channel.commands.some((command) => command.startsWith('sendmsg')), 'the hangup to reach FreeSWITCH');
    raw.channel.kill();
    expect(await settledWithin(rawDestroy, 300)).toBe('pending');

    const leg = await freeswitchLeg();
    const endpoint = await lean(leg);
    leg.channel.hangupPending = true;
    const destroying = endpoint.destroy();
    await until(() => leg.channel.commands.some((command) => command.startsWith('sendmsg')), 'the hangup to reach FreeSWITCH');
    leg.channel.kill();
    expect(await settledWithin(destroying, 1000)).toBe('settled');
  });

  it('re-INVITEs FreeSWITCH on modify, and then refuses to be read for SDP it no longer knows', async () => {
    const leg = await freeswitchLeg();
    const endpoint = await lean(leg);
    expect(endpoint.local.sdp).toContain('o=FreeSWITCH');

    await endpoint.modify('v=0 jigasi-answer');

    expect(leg.dialog.modifies).toEqual(['v=0 jigasi-answer']);
    expect(leg.channel.commands.filter((command) => command.startsWith('api uuid_dump'))).toEqual([]);
    expect(() => endpoint.local.sdp).toThrow('endpoint.local is not refreshed after modify()');
    expect(() => (endpoint as unknown as { remote: unknown }).remote).toThrow('endpoint.remote is not refreshed after modify()');
  });

  it("fails modify when FreeSWITCH turns the audio off in its answer (Jigasi's SDP has no codec it knows)", async () => {
    const leg = await freeswitchLeg();
    const endpoint = await lean(leg);
    // What FreeSWITCH 1.10.12 answered on the real stack to an offer of only an unknown codec.
    leg.dialog.modifyAnswerSdp = 'v=0\r\no=FreeSWITCH 1 2 IN IP4 127.0.0.1\r\ns=FreeSWITCH\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 8 0 9 102 101 103\r\n';
    await expect(endpoint.modify('v=0 jigasi-answer')).rejects.toThrow(new FreeswitchRefused('the re-INVITE', 'm=audio 0 (none of the offered codecs)'));
  });
});

describe('re-INVITEs to FreeSWITCH after one it refused', () => {
  it('go out: drachtio-srf would keep the refused one in its queue and hold every later one for ever', async () => {
    const leg = await freeswitchLeg();
    const endpoint = await lean(leg);
    leg.dialog.modifyStatus = 488;
    await expect(endpoint.modify('v=0 refused')).rejects.toMatchObject({ status: 488 });
    leg.dialog.modifyStatus = 200;
    expect(await settledWithin(endpoint.modify('v=0 the last one it took'), 1000)).toBe('settled');
    expect(leg.dialog.modifies).toEqual(['v=0 refused', 'v=0 the last one it took']);
  });
});

describe('the connection to drachtio-server', () => {
  it('tells /readyz why it cannot connect, as the log does', async () => {
    const config = loadConfig(testEnv({ DRACHTIO_HOST: '127.0.0.1', DRACHTIO_PORT: '1' }));
    const readiness = new Readiness(['drachtio']);
    const drachtio = connectDrachtio(config, readiness, createLogger('info', new LogCapture()));
    try {
      await until(() => readiness.problems().drachtio?.includes('ECONNREFUSED') === true, 'the refused connection', 5_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(readiness.problems().drachtio).toBe('connect ECONNREFUSED 127.0.0.1:1: is drachtio-server running, and DRACHTIO_HOST and DRACHTIO_PORT right?');
    } finally {
      drachtio.close();
    }
  });
});
