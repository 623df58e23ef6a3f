/**
 * sipp scenarios for the end-to-end suite, built per case: a trunk caller that types its PIN
 * (RFC 4733 pcaps or SIP INFO) and fake Jigasi instances that answer, refuse or ring.
 */

const SDP = `v=0
o=e2e 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv`;

/** An SDP as a phone, PBX or SBC sends it: where its media is, in which direction, with which codecs. */
export interface SdpShape {
  /** Where the caller receives RTP (an RtpPeer's port; 127.0.0.1). */
  port: number;
  /** The origin line's version: a changed SDP carries a higher one (RFC 3264 §8). */
  version: number;
  direction?: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  /**
   * In order of preference; telephone-event is always added. 'unknown' is a codec nobody has;
   * 'listed-unknown' one that a gateway's FREESWITCH_CODECS may name though FreeSWITCH lacks it.
   */
  codecs?: Array<'PCMA' | 'PCMU' | 'G722' | 'unknown' | 'listed-unknown'>;
  /** A T.38 fax stream instead of audio (audio port 0), as a fax machine's re-INVITE offers it. */
  t38?: true;
}

const CODEC_LINES: Record<NonNullable<SdpShape['codecs']>[number], [number, string]> = {
  PCMA: [8, 'a=rtpmap:8 PCMA/8000'],
  PCMU: [0, 'a=rtpmap:0 PCMU/8000'],
  G722: [9, 'a=rtpmap:9 G722/8000'],
  unknown: [98, 'a=rtpmap:98 X-NO-SUCH-CODEC/8000'],
  'listed-unknown': [97, 'a=rtpmap:97 X-FS-LACKS/8000'],
};

export function offerSdp(shape: SdpShape): string {
  const codecs = shape.codecs ?? ['PCMA', 'PCMU'];
  const audio = `m=audio ${shape.t38 ? 0 : shape.port} RTP/AVP ${[...codecs.map((codec) => CODEC_LINES[codec][0]), 101].join(' ')}
${codecs.map((codec) => CODEC_LINES[codec][1]).join('\n')}
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=${shape.direction ?? 'sendrecv'}`;
  const fax = `m=image ${shape.port} udptl t38
a=T38FaxVersion:0
a=T38MaxBitRate:14400
a=T38FaxRateManagement:transferredTCF`;
  return `v=0
o=e2e 4711 ${shape.version} IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
${audio}${shape.t38 ? `\n${fax}` : ''}`;
}

const HEADER = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">`;

function message(text: string): string {
  const lines = text.split('\n').map((line) => `      ${line}`);
  return `    <![CDATA[\n${lines.join('\n')}\n\n    ]]>`;
}

/** 200 OK to the request just received (a BYE, an INFO). */
const OK_TO_LAST_REQUEST = `  <send>
${message(`SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0`)}
  </send>`;

/** One step of what the caller does after the call is answered. */
/** What plays into a call: a pause, or RTP from a pcap (keys, a voicemail's greeting). */
export type MediaStep = { pause: number } | { pcap: string };

function mediaStep(step: MediaStep): string {
  return 'pause' in step ? `  <pause milliseconds="${step.pause}"/>` : `  <nop><action><exec play_pcap_audio="${step.pcap}"/></action></nop>`;
}

/** A request inside the call the caller sends about its media (RFC 3261, 3311, 4028). */
export interface SessionRequest {
  /** The offer; none: a re-INVITE that asks for our offer, an UPDATE that only refreshes. */
  sdp?: SdpShape;
  /** For a re-INVITE without SDP: the answer the ACK carries. */
  ackSdp?: SdpShape;
  /** Extra header lines, e.g. "Session-Expires: 90;refresher=uac". */
  headers?: string[];
  /** The final status the gateway must answer with. */
  expect: number;
  /** Regular expressions the answer (headers and body) must match; one starting with "!" must not. */
  answerMust?: string[];
  /** Logged with the time the answer arrived (`mark <name> <epoch>`), for the case to measure media from there. */
  mark?: string;
}

export type CallerStep =
  | MediaStep
  | { info: string }
  | { reinvite: SessionRequest }
  | { update: SessionRequest }
  /** hang up: BYE, then the scenario ends */
  | { bye: true };

export interface CallerPlan {
  callerNumber: string;
  steps: CallerStep[];
  /** 'bye': the gateway hangs up at the end; 'none': the plan ends with our own BYE. */
  expect: 'bye' | 'none';
  /** Expect this final status instead of an answer (screening cases). */
  refusedWith?: number;
  /** A header line the refusal must carry, e.g. "Retry-After: 60". */
  refusalHeader?: string;
  /** The INVITE leaves out its Contact header (a broken or hostile client). */
  withoutContact?: true;
  /** The INVITE's SDP (default: PCMA and PCMU at sipp's media port); `delayed`: none, the answer goes in the ACK. */
  offer?: SdpShape | { delayed: SdpShape };
  /** Extra header lines of the INVITE, e.g. "Require: 100rel". */
  headers?: string[];
  /** Regular expressions the 200 OK (headers and body) must match. */
  answerMust?: string[];
}

/** sipp actions checking an answer and marking its time; `name` keeps variable names apart. */
function answerChecks(name: string, must: string[] = [], mark?: string): string {
  const checks = must.map((pattern, index) =>
    pattern.startsWith('!')
      ? `<ereg regexp="${escapeXml(pattern.slice(1))}" search_in="msg" check_it_inverse="true" assign_to="${name}_${index}"/>`
      : `<ereg regexp="${escapeXml(pattern)}" search_in="msg" check_it="true" assign_to="${name}_${index}"/>`,
  );
  const logged = [...must.map((_pattern, index) => `[$${name}_${index}]`), ...(mark ? [`mark ${mark} [timestamp]`] : [])];
  if (logged.length === 0) return '';
  return `
    <action>
      ${checks.join('\n      ')}
      <log message="${name} ${logged.join(' ')}"/>
    </action>
  `;
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The times the marked answers arrived, from sipp's log (-trace_logs): name → epoch ms. */
export function marksIn(log: string): Map<string, number> {
  return new Map([...log.matchAll(/mark (\S+) \S+\t\S+\t(\d+\.\d+)/g)].map(([, name, epoch]) => [name!, Math.round(Number(epoch) * 1000)]));
}

const from = (number: string) => `"Trunk" <sip:${number}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]`;

export function callerScenario(plan: CallerPlan): string {
  const delayed = plan.offer !== undefined && 'delayed' in plan.offer ? plan.offer.delayed : undefined;
  const inviteSdp = plan.offer === undefined ? SDP : 'delayed' in plan.offer ? undefined : offerSdp(plan.offer);
  const invite = `  <send retrans="500">
${message(`INVITE sip:+494136123456@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: ${from(plan.callerNumber)}
To: <sip:+494136123456@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE${plan.withoutContact ? '' : `
Contact: <sip:${plan.callerNumber}@[local_ip]:[local_port]>`}
Max-Forwards: 70
User-Agent: e2e-trunk${(plan.headers ?? []).map((line) => `\n${line}`).join('')}
${inviteSdp === undefined ? 'Content-Length: 0' : `Content-Type: application/sdp
Content-Length: [len]

${inviteSdp}`}`)}
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>`;

  const ack = (uri: string, cseq = 1, sdp?: SdpShape) =>
    message(`ACK ${uri} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: ${from(plan.callerNumber)}
[last_To:]
Call-ID: [call_id]
CSeq: ${cseq} ACK
Max-Forwards: 70
${sdp === undefined ? 'Content-Length: 0' : `Content-Type: application/sdp
Content-Length: [len]

${offerSdp(sdp)}`}`);

  if (plan.refusedWith !== undefined) {
    return `${HEADER}
<scenario name="refused caller">
${invite}
  <recv response="${plan.refusedWith}">${
    plan.refusalHeader === undefined
      ? ''
      : `
    <action><ereg regexp="${plan.refusalHeader.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" search_in="msg" check_it="true" assign_to="header"/></action>
  `
  }</recv>
  <send>
${ack('sip:+494136123456@[remote_ip]:[remote_port]')}
  </send>${plan.refusalHeader === undefined ? '' : '\n  <Reference variables="header"/>'}
</scenario>
`;
  }

  let cseq = 1;
  const steps = plan.steps
    .map((step, index) => {
      if ('pause' in step || 'pcap' in step) return mediaStep(step);
      cseq++;
      const inDialog = (method: string) => `${method} [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: ${from(plan.callerNumber)}
To: <sip:+494136123456@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: ${cseq} ${method}
Max-Forwards: 70`;
      if ('info' in step) {
        return `  <send retrans="500">
${message(`${inDialog('INFO')}
Content-Type: application/dtmf-relay
Content-Length: [len]

Signal=${step.info}
Duration=160`)}
  </send>
  <recv response="200"/>
  <pause milliseconds="150"/>`;
      }
      if ('reinvite' in step || 'update' in step) {
        const request = 'reinvite' in step ? step.reinvite : step.update;
        const method = 'reinvite' in step ? 'INVITE' : 'UPDATE';
        const body = request.sdp === undefined ? 'Content-Length: 0' : `Content-Type: application/sdp\nContent-Length: [len]\n\n${offerSdp(request.sdp)}`;
        const answered = request.expect >= 200 && request.expect < 300;
        const ackLine =
          method !== 'INVITE'
            ? ''
            : answered
              ? `\n  <send>\n${ack('[next_url]', cseq, request.ackSdp)}\n  </send>`
              : `\n  <send>\n${message(`ACK [next_url] SIP/2.0
[last_Via:]
From: ${from(plan.callerNumber)}
[last_To:]
Call-ID: [call_id]
CSeq: ${cseq} ACK
Max-Forwards: 70
Content-Length: 0`)}\n  </send>`;
        return `  <send retrans="500">
${message(`${inDialog(method)}
Contact: <sip:${plan.callerNumber}@[local_ip]:[local_port]>${(request.headers ?? []).map((line) => `\n${line}`).join('')}
${body}`)}
  </send>
  <recv response="100" optional="true"/>
  <recv response="${request.expect}">${answerChecks(`step${index}`, request.answerMust, request.mark)}</recv>${ackLine}`;
      }
      return `  <send retrans="500">
${message(`${inDialog('BYE')}
Content-Length: 0`)}
  </send>
  <recv response="200"/>`;
    })
    .join('\n');

  const ending =
    plan.expect === 'bye'
      ? `  <recv request="BYE" timeout="120000"/>
${OK_TO_LAST_REQUEST}`
      : '';

  return `${HEADER}
<scenario name="caller">
${invite}
  <recv response="200" rtd="true" rrs="true">${answerChecks('answer', plan.answerMust)}</recv>
  <send>
${ack('[next_url]', 1, delayed)}
  </send>
${steps}
${ending}
</scenario>
`;
}

export type JigasiBehaviour =
  /**
   * 180, answer after answerAfterMs [3000] (Jigasi answers once the conference media is up),
   * check headers, hang up after holdMs (or wait for our BYE when holdMs is undefined).
   */
  | {
      kind: 'answer';
      room: string;
      password?: string;
      displayName: string;
      holdMs?: number;
      answerAfterMs?: number;
      /**
       * After the answer: 'moderator-mute' sends a muteRequest and expects the gateway's
       * muteResponse OK; 'expect-mute-request' expects the gateway's muteRequest (caller pressed *6);
       * 'silent-on-unmute' takes the mute and the unmute request (200) and never sends a muteResponse.
       */
      info?: 'moderator-mute' | 'expect-mute-request' | 'silent-on-unmute';
      /** RTP the room sends once answered (a pcap of PCMA audio), as a conference would. */
      audioPcap?: string;
      /** The answer offers only a codec FreeSWITCH does not have (a misconfigured Jigasi). */
      noCommonCodec?: true;
      /** Where Jigasi receives RTP (an RtpPeer's port), answering PCMA; default: sipp's media port. */
      mediaPort?: number;
      /**
       * A room locked with this password: an INVITE without it (in the password header) is
       * refused with 486, as the real Jigasi does when it cannot join the room; one with it is
       * answered. `password` is then not checked.
       */
      lockedWith?: string;
      /** INVITEs this Jigasi takes (sipp -m); default: one per call of the case. */
      calls?: number;
    }
  | { kind: 'refuse'; status: number; calls?: number }
  /** 180 and nothing more until the gateway CANCELs. */
  | { kind: 'ring' };

const RESPONSE_HEADERS = `[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:jigasi@[local_ip]:[local_port];transport=[transport]>`;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An SDP whose only codec no FreeSWITCH knows. */
const SDP_WITHOUT_COMMON_CODEC = `v=0
o=e2e 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 98
a=rtpmap:98 X-NO-SUCH-CODEC/8000
a=sendrecv`;

/** An INVITE's answer as a phone gives it: 180, then after `ringMs` 200 OK with `sdp`, then the ACK. */
function ringThenAnswer(ringMs: number, sdp = SDP): string {
  return `  <send>
${message(`SIP/2.0 180 Ringing
${RESPONSE_HEADERS}
Content-Length: 0`)}
  </send>
  <pause milliseconds="${ringMs}"/>
  <send retrans="500">
${message(`SIP/2.0 200 OK
${RESPONSE_HEADERS}
Content-Type: application/sdp
Content-Length: [len]

${sdp}`)}
  </send>
  <recv request="ACK"/>`;
}

export function jigasiScenario(behaviour: JigasiBehaviour, drachtio: string): string {
  if (behaviour.kind === 'refuse') {
    return `${HEADER}
<scenario name="jigasi refuses">
  <recv request="INVITE"/>
  <send>
${message(`SIP/2.0 ${behaviour.status} Service Unavailable
${RESPONSE_HEADERS}
Content-Length: 0`)}
  </send>
  <recv request="ACK"/>
</scenario>
`;
  }
  if (behaviour.kind === 'ring') {
    return `${HEADER}
<scenario name="jigasi rings">
  <recv request="INVITE"/>
  <send>
${message(`SIP/2.0 180 Ringing
${RESPONSE_HEADERS}
Content-Length: 0`)}
  </send>
  <recv request="CANCEL" timeout="120000">
    <action>
      <ereg regexp="([0-9]+) CANCEL" search_in="hdr" header="CSeq:" assign_to="cseq_line,cseq_number"/>
      <log message="cancelled [$cseq_line]"/>
    </action>
  </recv>
  <send>
${message(`SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0`)}
  </send>
  <send>
${message(`SIP/2.0 487 Request Terminated
${RESPONSE_HEADERS.replace('[last_CSeq:]', 'CSeq: [$cseq_number] INVITE')}
Content-Length: 0`)}
  </send>
  <recv request="ACK"/>
</scenario>
`;
  }
  const checks = [
    `<ereg regexp="^ *${escapeRegex(behaviour.room)}$" search_in="hdr" header="Jitsi-Conference-Room:" check_it="true" assign_to="room_seen"/>`,
    `<ereg regexp="^ *&quot;${escapeRegex(behaviour.displayName)}&quot;" search_in="hdr" header="From:" check_it="true" assign_to="from_seen"/>`,
    behaviour.lockedWith !== undefined
      ? `<ereg regexp="^ *${escapeRegex(behaviour.lockedWith)}$" search_in="hdr" header="Jitsi-Conference-Room-Pass:" assign_to="pass_seen"/>`
      : behaviour.password === undefined
        ? `<ereg regexp=".+" search_in="hdr" header="Jitsi-Conference-Room-Pass:" check_it_inverse="true" assign_to="pass_seen"/>`
        : `<ereg regexp="^ *${escapeRegex(behaviour.password)}$" search_in="hdr" header="Jitsi-Conference-Room-Pass:" check_it="true" assign_to="pass_seen"/>`,
    // Only needed to address our own requests; sipp refuses variables that are set but never used.
    behaviour.holdMs === undefined && behaviour.info !== 'moderator-mute' ? '' : `<ereg regexp=".*" search_in="hdr" header="From:" assign_to="remote_from"/>`,
    `<log message="checked [$room_seen] [$from_seen] [$pass_seen]"/>`,
  ].join('\n      ');
  const expectInfo = (pattern: string) => `  <recv request="INFO" timeout="30000">
    <action>
      <ereg regexp="${pattern}" search_in="body" check_it="true" assign_to="info_seen"/>
      <log message="INFO [$info_seen]"/>
    </action>
  </recv>
${OK_TO_LAST_REQUEST}`;
  const sendInfo = (json: string) => `  <pause milliseconds="1000"/>
  <send retrans="500">
${message(`INFO sip:dialin@${drachtio} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:jigasi@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: [$remote_from]
Call-ID: [call_id]
CSeq: 3 INFO
Max-Forwards: 70
Content-Type: application/json
Content-Length: [len]

${json}`)}
  </send>
  <recv response="200"/>`;
  const infoExchange = {
    'moderator-mute': `${sendInfo('{"type":"muteRequest","data":{"audio":true},"id":"e2e-moderator-1"}')}
${expectInfo('muteResponse.*OK.*e2e-moderator-1')}`,
    'expect-mute-request': expectInfo('muteRequest.*audio.:true'),
    'silent-on-unmute': `${expectInfo('muteRequest.*audio.:true')}
${expectInfo('muteRequest.*audio.:false')}`,
    none: '',
  }[behaviour.info ?? 'none'];
  const hangUp =
    behaviour.holdMs !== undefined
      ? `  <pause milliseconds="${behaviour.holdMs}"/>
  <send retrans="500">
${message(`BYE sip:dialin@${drachtio} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:jigasi@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: [$remote_from]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: <sip:jigasi@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Content-Length: 0`)}
  </send>
  <recv response="200"/>`
      : `  <recv request="BYE" timeout="600000"/>
${OK_TO_LAST_REQUEST}`;
  return `${HEADER}
<scenario name="jigasi answers">
  <recv request="INVITE">
    <action>
      ${checks}
    </action>
  </recv>${
    behaviour.lockedWith === undefined
      ? ''
      : `
  <nop next="unlocked" test="pass_seen"/>
  <send>
${message(`SIP/2.0 486 Busy Here
${RESPONSE_HEADERS}
Content-Length: 0`)}
  </send>
  <recv request="ACK" next="done"/>
  <label id="unlocked"/>`
  }
${ringThenAnswer(behaviour.answerAfterMs ?? 3000, behaviour.noCommonCodec ? SDP_WITHOUT_COMMON_CODEC : behaviour.mediaPort === undefined ? SDP : offerSdp({ port: behaviour.mediaPort, version: 1, codecs: ['PCMA'] }))}
${behaviour.audioPcap ? mediaStep({ pcap: behaviour.audioPcap }) : ''}
${infoExchange}
${hangUp}${behaviour.lockedWith === undefined ? '' : '\n  <label id="done"/>'}
</scenario>
`;
}

export interface RegistrarPlan {
  /** 'challenge': 401 with a digest challenge, then 200 when sipp's verifyauth accepts the answer (403 and a failed call when not). */
  answer: 'challenge' | 'forbid';
  realm: string;
  user: string;
  password: string;
  /** The lifetime granted in the 200's Contact. */
  grantSeconds: number;
}

/**
 * A provider's registrar, one REGISTER transaction per sipp call: every REGISTER (a refresh, an
 * unregistration) is challenged again. Checks that drachtio-server put its own address in the
 * Contact the gateway sent as localhost.
 */
export function registrarScenario(plan: RegistrarPlan): string {
  const respond = (status: string, extra = '') =>
    message(`SIP/2.0 ${status}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
${extra}Content-Length: 0`);
  if (plan.answer === 'forbid') {
    return `${HEADER}
<scenario name="registrar forbids">
  <recv request="REGISTER"/>
  <send>
${respond('403 Forbidden')}
  </send>
</scenario>
`;
  }
  return `${HEADER}
<scenario name="registrar challenges">
  <recv request="REGISTER">
    <action>
      <ereg regexp="^ *&lt;sip:${escapeRegex(plan.user)}@127\\.0\\.0\\.1(:[0-9]+)?&gt;" search_in="hdr" header="Contact:" check_it="true" assign_to="contact_seen"/>
      <log message="contact [$contact_seen]"/>
    </action>
  </recv>
  <send>
${respond('401 Unauthorized', `WWW-Authenticate: Digest realm="${plan.realm}", nonce="e2e[call_number]nonce", algorithm=MD5\n`)}
  </send>
  <recv request="REGISTER">
    <action>
      <ereg regexp="[0-9]+" search_in="hdr" header="Expires:" assign_to="expires_seen"/>
      <verifyauth assign_to="auth_valid" username="${plan.user}" password="${plan.password}"/>
      <log message="REGISTER Expires [$expires_seen]"/>
    </action>
  </recv>
  <nop hide="true" test="auth_valid" next="accepted"/>
  <send>
${respond('403 Forbidden')}
  </send>
  <recv response="999" timeout="100"/>
  <label id="accepted"/>
  <send>
${respond('200 OK', `[last_Contact:];expires=${plan.grantSeconds}\n`)}
  </send>
</scenario>
`;
}

export interface CalleePlan {
  /** After the 200 OK is acknowledged: RTP pcaps (keys, a voicemail's greeting), pauses. */
  steps: MediaStep[];
  /** Checked in the INVITE: the municipality's number in From and P-Asserted-Identity. */
  callerId: string;
}

/** A phone the gateway calls out to through the trunk: rings, answers, follows the plan, and waits for the gateway's BYE. */
export function calleeScenario(plan: CalleePlan): string {
  return `${HEADER}
<scenario name="callee">
  <recv request="INVITE" rrs="true">
    <action>
      <ereg regexp="^ *&lt;sip:${escapeRegex(plan.callerId)}@" search_in="hdr" header="From:" check_it="true" assign_to="from_seen"/>
      <ereg regexp="^ *&lt;sip:${escapeRegex(plan.callerId)}@" search_in="hdr" header="P-Asserted-Identity:" check_it="true" assign_to="pai_seen"/>
      <log message="caller id [$from_seen] [$pai_seen]"/>
    </action>
  </recv>
${ringThenAnswer(1000)}
${plan.steps.map(mediaStep).join('\n')}
  <recv request="BYE" timeout="120000"/>
${OK_TO_LAST_REQUEST}
</scenario>
`;
}

export interface JigasiDialOutPlan {
  /** The number as Jitsi Meet's "invite by phone" passes it on (Jigasi puts it in the Request-URI). */
  number: string;
  roomJid: string;
  /** How long Jigasi keeps the call after our 200 OK before it hangs up. */
  holdMs: number;
}

/**
 * Jigasi calling out for Jitsi Meet: an INVITE for the number with the room header, to the
 * gateway. Passes when the gateway says the phone rings (180), answers once the callee has
 * pressed 1, and answers our BYE.
 */
export function jigasiDialOutScenario(plan: JigasiDialOutPlan): string {
  const jigasiFrom = '<sip:jigasi@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]';
  const inDialog = (method: string, cseq: number) => `${method} [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: ${jigasiFrom}
To: <sip:${plan.number}@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: ${cseq} ${method}
Max-Forwards: 70
Content-Length: 0`;
  return `${HEADER}
<scenario name="jigasi calls out">
  <send retrans="500">
${message(`INVITE sip:${plan.number}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: ${jigasiFrom}
To: <sip:${plan.number}@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:jigasi@[local_ip]:[local_port]>
Max-Forwards: 70
User-Agent: Jigasi
Jitsi-Conference-Room: ${plan.roomJid}
Content-Type: application/sdp
Content-Length: [len]

${SDP}`)}
  </send>
  <recv response="100" optional="true"/>
  <recv response="180"/>
  <recv response="200" rrs="true" timeout="60000"/>
  <send>
${message(inDialog('ACK', 1))}
  </send>
  <pause milliseconds="${plan.holdMs}"/>
  <send retrans="500">
${message(inDialog('BYE', 2))}
  </send>
  <recv response="200"/>
</scenario>
`;
}
