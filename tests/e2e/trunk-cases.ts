/**
 * Trunks with registration, against sipp as the providers' registrars: "telekom" at
 * 127.0.0.3:5080 challenges every REGISTER and checks the digest (sipp's verifyauth); "backup"
 * at 127.0.0.4:5080 answers 403 until the first case replaces it by one that accepts. The gateway
 * trusts only 127.0.0.1/32 by SIP_TRUSTED_SOURCES; calls from 127.0.0.3 come in as the
 * registered trunk's.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registrarScenario, type RegistrarPlan } from '../../tools/testbed/scenarios';
import { api, createPin, runSipp, sleep, startGateway, stopGateway, type Gateway, type SippRun } from '../../tools/testbed/stack';
import { jigasiAnswers, nextCaller, pcapSteps, runCase } from './call-case';
import type { E2eGroup } from './group';

const TELEKOM = { address: '127.0.0.3', user: '0413612345', password: 'e2e-trunk-secret', realm: 'e2e.example' };
const BACKUP = { address: '127.0.0.4', user: '0413699', password: 'backup-secret', realm: 'backup.example' };
const REGISTRAR_PORT = '5080';
/** Refreshed after 15 s (the gateway's minimum), long before it runs out. */
const GRANT_SECONDS = 40;

interface TrunkView {
  name: string;
  registrar: string;
  state: string;
  lastStatus: number | null;
  since: string;
  expiresAt: string | null;
}

async function trunk(gateway: Gateway, name: string): Promise<TrunkView | undefined> {
  const { items } = (await (await api(gateway, 'GET', '/api/v1/trunks')).json()) as { items: TrunkView[] };
  return items.find((item) => item.name === name);
}

async function waitForTrunk(gateway: Gateway, name: string, what: string, test: (view: TrunkView) => boolean, withinMs: number): Promise<TrunkView> {
  const deadline = Date.now() + withinMs;
  let last: TrunkView | undefined;
  while (Date.now() < deadline) {
    last = await trunk(gateway, name);
    if (last && test(last)) return last;
    await sleep(250);
  }
  throw new Error(`trunk ${name} not ${what} within ${withinMs / 1000} s; last seen ${JSON.stringify(last)}`);
}

function registrar(work: string, name: string, address: string, plan: RegistrarPlan, calls: number): SippRun {
  return runSipp(work, name, registrarScenario(plan), ['-i', address, '-p', REGISTRAR_PORT, '-m', String(calls), '-trace_logs', '-log_file', join(work, `${name}-logs.log`)]);
}

const passed = async (check: () => Promise<void>): Promise<string | undefined> =>
  check().then(
    () => undefined,
    (error: unknown) => (error as Error).message,
  );

export function trunkGroup(): E2eGroup {
  let work = '';
  let telekom: SippRun | undefined;
  let backup: SippRun | undefined;
  const telekomPlan: RegistrarPlan = { answer: 'challenge', realm: TELEKOM.realm, user: TELEKOM.user, password: TELEKOM.password, grantSeconds: GRANT_SECONDS };
  return {
    async start(groupWork) {
      work = groupWork;
      telekom = registrar(work, 'registrar-telekom', TELEKOM.address, telekomPlan, 1000);
      backup = registrar(work, 'registrar-backup', BACKUP.address, { ...telekomPlan, answer: 'forbid' }, 1000);
      writeFileSync(join(work, 'backup-password'), `${BACKUP.password}\n`);
      const trunksFile = join(work, 'trunks.json');
      writeFileSync(
        trunksFile,
        JSON.stringify([
          { name: 'telekom', registrar: `sip:${TELEKOM.address}:${REGISTRAR_PORT}`, user: TELEKOM.user, password: TELEKOM.password, realm: TELEKOM.realm, numbers: ['+494136123456'], expires: 120 },
          { name: 'backup', registrar: `sip:${BACKUP.address}:${REGISTRAR_PORT}`, user: BACKUP.user, passwordFile: join(work, 'backup-password'), numbers: ['04136 99'] },
        ]),
      );
      await sleep(300);
      const gateway = await startGateway(work, { TRUNKS_FILE: trunksFile, LOG_LEVEL: 'debug' }, 'listening');
      await api(gateway, 'PUT', '/api/v1/rooms/gemeinderat', { password: '2468' });
      return {
        gateway,
        stop: async () => {
          await stopGateway(gateway);
          telekom?.kill();
          backup?.kill();
        },
      };
    },
    cases: [
      {
        name: 'trunk: a registrar that answers 403 is tried again later; once it accepts, the trunk is registered and /readyz is 200',
        run: async (gateway) =>
          passed(async () => {
            await waitForTrunk(gateway, 'backup', 'refused', (seen) => seen.state === 'failing' && seen.lastStatus === 403, 10_000);
            const readyz = await fetch(`${gateway.url}/readyz`);
            const body = await readyz.text();
            if (readyz.status !== 503 || !body.includes('trunk backup')) throw new Error(`/readyz answered ${readyz.status} ${body} while a trunk was refused`);
            backup!.kill();
            await Promise.race([backup!.exit, sleep(5_000)]);
            backup = registrar(work, 'registrar-backup-recovered', BACKUP.address, { answer: 'challenge', realm: BACKUP.realm, user: BACKUP.user, password: BACKUP.password, grantSeconds: 600 }, 1000);
            await waitForTrunk(gateway, 'backup', 'registered after the registrar recovered', (seen) => seen.state === 'registered', 45_000);
            const ready = await fetch(`${gateway.url}/readyz`);
            if (ready.status !== 200) throw new Error(`/readyz answered ${ready.status} ${await ready.text()} with every trunk registered`);
          }),
      },
      {
        name: 'trunk: a registrar that challenges with 401 accepts the digest (sipp verifyauth); registered, Contact with drachtio-server address',
        run: async (gateway) =>
          passed(async () => {
            const view = await waitForTrunk(gateway, 'telekom', 'registered', (seen) => seen.state === 'registered', 10_000);
            if (view.lastStatus !== 200 || view.expiresAt === null) throw new Error(`registered without status or lifetime: ${JSON.stringify(view)}`);
            const granted = (Date.parse(view.expiresAt) - Date.parse(view.since)) / 1000;
            if (Math.abs(granted - GRANT_SECONDS) > 2) throw new Error(`expiresAt says ${granted} s, the registrar granted ${GRANT_SECONDS} s`);
            if (gateway.log.join('').includes(TELEKOM.password)) throw new Error('the trunk password is in the log');
          }),
      },
      {
        name: 'trunk: the registration is refreshed before it runs out, at about half the granted time',
        run: async (gateway) =>
          passed(async () => {
            const first = await waitForTrunk(gateway, 'telekom', 'registered', (seen) => seen.state === 'registered', 10_000);
            const refreshed = await waitForTrunk(gateway, 'telekom', 'refreshed', (seen) => seen.expiresAt !== first.expiresAt, (GRANT_SECONDS + 5) * 1000);
            const registeredAt = Date.parse(first.expiresAt!) - GRANT_SECONDS * 1000;
            const refreshedAt = Date.parse(refreshed.expiresAt!) - GRANT_SECONDS * 1000;
            const afterSeconds = (refreshedAt - registeredAt) / 1000;
            if (refreshed.state !== 'registered' || afterSeconds < 15 || afterSeconds > GRANT_SECONDS / 2 + 3) {
              throw new Error(`refreshed ${afterSeconds} s after registering (granted ${GRANT_SECONDS} s): ${JSON.stringify(refreshed)}`);
            }
          }),
      },
      {
        name: 'trunk: an INVITE from the registered trunk (outside SIP_TRUSTED_SOURCES) reaches the conference',
        run: async (gateway, caseWork) =>
          runCase(gateway, caseWork, {
            name: 'over the trunk',
            prepare: async (bed) => ({ pin: await createPin(bed, { label: 'Frau Meyer' }) }),
            jigasi: [jigasiAnswers('Frau Meyer', 2000)],
            callerAddress: TELEKOM.address,
            caller: ({ pin, work: callWork }) => ({ callerNumber: nextCaller(), steps: pcapSteps(callWork, [`${pin}#`]), expect: 'bye' }),
            outcome: 'completed',
          }),
      },
      {
        name: 'trunk: stopping the gateway unregisters the trunks (REGISTER with Expires: 0)',
        run: async (gateway) =>
          passed(async () => {
            await stopGateway(gateway);
            const log = join(work, 'registrar-telekom-logs.log');
            for (let attempt = 0; attempt < 20 && !readFileSync(log, 'utf8').includes('REGISTER Expires 0'); attempt++) await sleep(250);
            if (!readFileSync(log, 'utf8').includes('REGISTER Expires 0')) throw new Error(`no REGISTER with Expires: 0 reached the registrar (see ${log})`);
          }),
      },
    ],
  };
}
