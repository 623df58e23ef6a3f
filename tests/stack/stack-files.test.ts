import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parse as parseYaml } from 'yaml';
import { tempDir } from '../support/service';
import { LISTENER_PROFILE } from '../../gateway/shared-listening';

/** The files an operator deploys: they must be complete and agree with each other. */

const ROOT = join(__dirname, '..', '..');
const FREESWITCH_CONFIG = join(ROOT, 'freeswitch-config');

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(folder, entry.name)) : [join(folder, entry.name)],
  );
}

const xmlFiles = filesUnder(FREESWITCH_CONFIG).filter((file) => file.endsWith('.xml'));
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['param', 'load', 'action', 'X-PRE-PROCESS', 'node', 'extension'].includes(name) });
const readXml = (file: string) => xml.parse(readFileSync(join(FREESWITCH_CONFIG, file), 'utf8'));
const params = (list: Array<{ name: string; value: string }>) => Object.fromEntries(list.map((param) => [param.name, param.value]));

describe('freeswitch-config/', () => {
  it.each(xmlFiles.map((file) => relative(FREESWITCH_CONFIG, file)))('%s is well-formed XML', (file) => {
    expect(XMLValidator.validate(readFileSync(join(FREESWITCH_CONFIG, file), 'utf8'))).toBe(true);
  });

  it('defines the drachtio_mrf profile drachtio-fsmrf needs: 3pcc, RFC 2833 on 101, late negotiation, context mrf', () => {
    const profile = readXml('sip_profiles/drachtio_mrf.xml').profile;
    expect(profile.name).toBe('drachtio_mrf');
    expect(params(profile.settings.param)).toMatchObject({
      context: 'mrf',
      'enable-3pcc': 'true',
      'rfc2833-pt': '101',
      'dtmf-type': 'rfc2833',
      'inbound-late-negotiation': 'true',
      'suppress-cng': 'true',
    });
  });

  it('hands every fsmrf endpoint to the gateway over the outbound event socket, and refuses other calls', () => {
    const context = readXml('dialplan/mrf.xml').include.context;
    expect(context.name).toBe('mrf');
    const [endpoint, rest] = context.extension;
    expect(endpoint.condition.field).toBe('${sip_user_agent}');
    expect(endpoint.condition.expression).toBe('^drachtio-fsmrf:');
    const actions = endpoint.condition.action.map((action: { application: string; data?: string }) => `${action.application} ${action.data ?? ''}`.trim());
    expect(actions).toEqual(expect.arrayContaining(['answer', 'set hangup_after_bridge=false', 'set park_after_bridge=true', 'socket ${sip_h_X-esl-outbound} async full']));
    expect(rest.condition.action[0]).toMatchObject({ application: 'respond', data: '403 Forbidden' });
  });

  it('takes the event socket password and the RTP range from the environment, with the documented defaults', () => {
    const vars = readXml('vars.xml').include['X-PRE-PROCESS'].map((entry: { cmd: string; data: string }) => `${entry.cmd} ${entry.data}`);
    expect(vars).toEqual(
      expect.arrayContaining([
        'set esl_password=ClueCon',
        'env-set esl_password=$FREESWITCH_SECRET',
        'env-set esl_port=$FREESWITCH_PORT',
        'env-set media_ip=$MEDIA_IP',
        'env-set rtp_start_port=$RTP_PORT_MIN',
        'env-set rtp_end_port=$RTP_PORT_MAX',
      ]),
    );
    expect(vars.find((line: string) => line.startsWith('set codec_prefs='))).toBe('set codec_prefs=PCMA,PCMU,G722,OPUS');
    const socket = params(readXml('autoload_configs/event_socket.conf.xml').configuration.settings.param);
    expect(socket).toMatchObject({ password: '$${esl_password}', 'apply-inbound-acl': 'gateway' });
    const acl = readXml('autoload_configs/acl.conf.xml').configuration['network-lists'].list;
    expect(acl).toMatchObject({ name: 'gateway', default: 'deny' });
  });

  it('loads only the modules the gateway uses, including the codecs', () => {
    const modules = readXml('autoload_configs/modules.conf.xml').configuration.modules.load.map((load: { module: string }) => load.module);
    expect(modules.sort()).toEqual(
      ['mod_commands', 'mod_conference', 'mod_console', 'mod_dialplan_xml', 'mod_dptools', 'mod_event_socket', 'mod_native_file', 'mod_opus', 'mod_sndfile', 'mod_sofia', 'mod_spandsp', 'mod_tone_stream'].sort(),
    );
  });

  it("has the shared listeners' conference profile the gateway joins, announcing nothing and leaving keys to the gateway", () => {
    const { configuration } = readXml('autoload_configs/conference.conf.xml');
    const profiles = [configuration.profiles.profile].flat() as Array<{ name: string; param: Array<{ name: string; value: string }> }>;
    const profile = profiles.find((candidate) => candidate.name === LISTENER_PROFILE);
    expect(profile).toBeDefined();
    const params = Object.fromEntries([profile!.param].flat().map((param) => [param.name, param.value]));
    expect(params).toMatchObject({ 'caller-controls': 'none', 'comfort-noise': 'false' });
    // No sound of the conference's own: no tones, no "you are muted", no member count.
    expect(Object.keys(params).filter((name) => /sound|announce|tts|prefix/.test(name))).toEqual([]);
  });

  it('keeps FreeSWITCH from logging the digits callers type', () => {
    expect(params(readXml('autoload_configs/switch.conf.xml').configuration.settings.param).loglevel).toBe('warning');
    expect(params(readXml('sip_profiles/drachtio_mrf.xml').profile.settings.param)['sip-trace']).toBe('no');
  });
});

interface ComposeService {
  image?: string;
  build?: unknown;
  network_mode?: string;
  profiles?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  entrypoint?: string[];
  env_file?: unknown;
  logging?: unknown;
}

describe('docker-compose.yml and the gateway image', () => {
  const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
  const { services } = compose;

  it('runs drachtio-server, FreeSWITCH and the gateway by default, Jigasi only in the jitsi profile', () => {
    const always = Object.entries(services).filter(([, service]) => !service.profiles).map(([name]) => name);
    expect(always.sort()).toEqual(['drachtio', 'freeswitch', 'gateway']);
    expect(services.jigasi?.profiles).toEqual(['jitsi']);
  });

  it('pins every image to a version', () => {
    for (const name of ['drachtio', 'freeswitch', 'jigasi']) {
      expect(services[name]?.image).toMatch(/^[\w./-]+:(?!latest$)[\w.-]+$/);
    }
    expect(services.gateway?.build).toBe('.');
  });

  it('uses host networking for every service that carries calls, so SIP and RTP are not NATed by Docker', () => {
    for (const [name, service] of Object.entries(services)) expect({ name, network: service.network_mode }).toEqual({ name, network: name === 'prompts' ? 'none' : 'host' });
  });

  it('rotates the logs of every service', () => {
    for (const [name, service] of Object.entries(services)) {
      if (name === 'prompts') continue;
      expect({ name, logging: service.logging }).toEqual({ name, logging: { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '5' } } });
    }
  });

  it('renders the prompts in a container of its own, from the Dockerfile, into the checkout', () => {
    expect(services.prompts).toMatchObject({ profiles: ['tools'], build: { context: '.', target: 'prompts' }, volumes: ['./prompts:/src/prompts'] });
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/FROM build AS prompts[\s\S]*espeak-ng sox[\s\S]*CMD \["node", "dist\/prompts\/generate.js"\]/);
  });

  it('gives FreeSWITCH our configuration and the prompts at the path the gateway names them by', () => {
    const freeswitch = services.freeswitch!;
    const configMount = freeswitch.volumes!.find((volume) => volume.startsWith('./freeswitch-config:'))!;
    const configPath = configMount.split(':')[1];
    expect(freeswitch.entrypoint?.join(' ')).toMatch(new RegExp(`exec freeswitch .*-conf ${configPath} `));
    const promptsMount = freeswitch.volumes!.find((volume) => volume.startsWith('./prompts:'))!;
    expect(promptsMount.split(':')[1]).toBe(services.gateway!.environment!.PROMPTS_DIR);
  });

  it('keeps the SQLite file in a named volume', () => {
    const dataVolume = services.gateway!.volumes!.find((volume) => volume.endsWith(':/var/lib/dialin'));
    expect(dataVolume).toBe('dialin-data:/var/lib/dialin');
    expect(services.gateway!.environment!.DB_PATH).toMatch(/^\/var\/lib\/dialin\//);
    expect(compose.volumes).toHaveProperty('dialin-data');
  });

  it('configures Jigasi for the gateway headers, start-muted INFO messages and concurrent calls', () => {
    const mount = services.jigasi!.volumes!.find((volume) => volume.includes('custom-sip-communicator.properties'))!;
    const properties = readFileSync(join(ROOT, mount.split(':')[0]!), 'utf8');
    expect(properties).toMatch(/^net\.java\.sip\.communicator\.impl\.protocol\.sip\.acc1\.JITSI_MEET_ROOM_HEADER_NAME=Jitsi-Conference-Room$/m);
    expect(properties).toMatch(/^net\.java\.sip\.communicator\.impl\.protocol\.sip\.acc1\.JITSI_MEET_ROOM_PASS_HEADER_NAME=Jitsi-Conference-Room-Pass$/m);
    expect(properties).toMatch(/^org\.jitsi\.jigasi\.ENABLE_SIP_STARTMUTED=true$/m);
    expect(properties).toMatch(/^net\.java\.sip\.communicator\.impl\.protocol\.SingleCallInProgressPolicy\.enabled=false$/m);
    // registrar-less: a USER_ID without a host, or Jigasi REGISTERs at the host of JIGASI_SIP_URI
    expect(properties).toMatch(/^net\.java\.sip\.communicator\.impl\.protocol\.sip\.acc1\.USER_ID=[^@\s]+$/m);
  });

  it("keeps Jigasi's RTP ports out of FreeSWITCH's range (both use host networking)", () => {
    const port = (value: string | undefined) => Number(/:-(\d+)\}/.exec(value ?? '')?.[1]);
    const jigasi = services.jigasi!.environment!;
    const freeswitch = services.freeswitch!.environment!;
    const [jigasiMin, jigasiMax, rtpMin, rtpMax] = [jigasi.JIGASI_PORT_MIN, jigasi.JIGASI_PORT_MAX, freeswitch.RTP_PORT_MIN, freeswitch.RTP_PORT_MAX].map(port);
    expect([jigasiMin, jigasiMax, rtpMin, rtpMax].every((value) => Number.isInteger(value))).toBe(true);
    expect(jigasiMax! < rtpMin! || jigasiMin! > rtpMax!).toBe(true);
  });

  it('builds the gateway in stages, runs it as a non-root user and checks /healthz', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK [\s\S]*\/healthz/m);
  });
});

describe('.env.example', () => {
  const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
  const documented = new Set([...example.matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]));

  it('lists every variable the service reads', () => {
    const configSource = readFileSync(join(ROOT, 'core', 'config.ts'), 'utf8');
    const read = new Set([...configSource.matchAll(/\(env, '([A-Z][A-Z0-9_]+)'/g)].map((match) => match[1]));
    expect(read.size).toBeGreaterThan(25);
    expect([...read].filter((name) => !documented.has(name))).toEqual([]);
  });

  const spec = join(ROOT, '..', 'shared', 'SPEC.md');
  (existsSync(spec) ? it : it.skip)('lists every variable of SPEC §2', () => {
    const section = readFileSync(spec, 'utf8').split('## 2.')[1]!.split('## 3.')[0]!;
    const names = new Set([...section.matchAll(/`([A-Z][A-Z0-9_]{2,})`/g)].map((match) => match[1]));
    expect([...names].filter((name) => !documented.has(name))).toEqual([]);
  });

  it('lets Compose start without .env, each service naming the REQUIRED settings it lacks in its log', () => {
    const composeText = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const refusing = [...composeText.matchAll(/\$\{([A-Z][A-Z0-9_]+):\?/g)].map((match) => match[1]);
    const lines = readFileSync(join(ROOT, '.env.example'), 'utf8').split('\n');
    const required = lines.flatMap((line, index) => {
      if (!/^#.*REQUIRED/.test(line)) return [];
      const variable = lines.slice(index + 1).find((next) => !next.startsWith('#'));
      return variable ? [variable.split('=')[0]] : [];
    });
    expect(required.sort()).toEqual(['JIGASI_URIS', 'JITSI_MUC_DOMAIN', 'JWT_SECRET', 'MEDIA_IP']);
    expect(refusing).toEqual([]);
    const { services } = parseYaml(composeText) as { services: Record<string, ComposeService> };
    expect(services.gateway?.env_file).toEqual([{ path: '.env', required: false }]);
    // the gateway names JWT_SECRET, JITSI_MUC_DOMAIN and JIGASI_URIS itself (tests/core/config.test.ts)
    expect(services.freeswitch?.entrypoint?.join(' ')).toMatch(/\[ -n "\$\$MEDIA_IP" \] \|\| \{ echo 'freeswitch: set MEDIA_IP in \.env[^}]*exit 78; \}; exec freeswitch /);
    expect(services.jigasi?.entrypoint?.join(' ')).toMatch(/JIGASI_XMPP_PASSWORD.*exec \/init/);
  });

  it('can be read by a POSIX shell (`set -a; . ./.env`), also with every commented example filled in', () => {
    const dir = tempDir();
    const source = (text: string) => {
      const file = join(dir.path, 'env');
      writeFileSync(file, text);
      return spawnSync('sh', ['-c', `set -a; . '${file}'; env`], { encoding: 'utf8', env: {} });
    };
    const asShipped = source(example);
    expect({ status: asShipped.status, err: asShipped.stderr }).toEqual({ status: 0, err: '' });
    expect(asShipped.stdout).toMatch(/^HTTP_PORT=8080$/m);
    const filledIn = source(example.replace(/^#([A-Z][A-Z0-9_]+=)/gm, '$1'));
    expect({ status: filledIn.status, err: filledIn.stderr }).toEqual({ status: 0, err: '' });
    expect(filledIn.stdout).toMatch(/^TRUNK_NUMBERS=\+49 4136 123456$/m);
    dir.cleanup();
  });

  it('lists every variable docker-compose.yml takes from it', () => {
    const composeText = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const interpolated = new Set([...composeText.matchAll(/\$\{([A-Z][A-Z0-9_]+)/g)].map((match) => match[1]));
    expect([...interpolated].filter((name) => !documented.has(name))).toEqual([]);
  });
});
