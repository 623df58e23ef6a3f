import { EventEmitter } from 'node:events';
import type {
  ParsedNameAddr,
  SipDialog,
  SipRequest,
  SipResponse,
  SipResponseMessage,
  SipServer,
  UacOptions,
  UacProgress,
} from '../../gateway/sip';

/**
 * Fakes of drachtio-srf's Srf, Request, Response and Dialog, behaving as the real ones do
 * (files and lines of drachtio-srf 5.0.29, the version package-lock.json pins):
 * - a Request emits "cancel" once when the caller CANCELs; createUAS then rejects with 487
 *   (lib/srf.js:245);
 * - createUAS rejects a request without a Contact header (lib/srf.js:311–312);
 * - Dialog#destroy sends BYE, resolves when the BYE is answered (`byeAnsweredAfterMs`; drachtio-
 *   server answers it itself with 408 after 32 s when the far end is silent) and emits nothing
 *   (lib/dialog.js:184–215); a BYE from the far end emits "destroy" and removes every listener
 *   (lib/dialog.js:492–496);
 * - Dialog#request resolves with the far end's answer whatever its status (`requestStatus`), and
 *   rejects once the dialog is gone, as drachtio-server no longer knows it (ENODIALOG;
 *   lib/dialog.js:404–420 passes the agent's error on), or when drachtio-server could not send
 *   it (`requestsFail`: a plain Error, code EDRACHTIO, lib/drachtio-agent.js:333–341);
 * - Dialog#modify rejects on a completed dialog (lib/dialog.js:285) and with a SipError on a
 *   failed answer (lib/dialog.js:362); re-INVITEs go one at a time (`_reinvitesInProgress`), and
 *   one answered with a failure never leaves that queue (:362 forgets :339's onReInviteComplete),
 *   so every later modify waits for ever unless the app releases it;
 * - an INFO with no "info" listener is answered 200 by drachtio-srf itself (lib/dialog.js:587);
 * - createUAC rejects with a SipError {status, reason} (lib/srf.js:662) and with 487 after
 *   Request#cancel;
 * - everything resolves asynchronously, as answers come over the network.
 * They never replace the end-to-end suite against a real drachtio-server.
 */

const tick = async () => new Promise<void>((resolve) => setImmediate(resolve));

/** What drachtio-srf rejects with for a request on a dialog drachtio-server no longer has. */
function noSuchDialog(): Error {
  return Object.assign(new Error('Server error: unable to find dialog for dialog id provided'), { code: 'ENODIALOG' });
}

export class FakeSipError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    // lib/sip_error.js: the message names the status only
    super(`Sip non-success response: ${status}`);
    this.name = 'SipError';
  }
}

function parseNameAddr(value: string): ParsedNameAddr {
  const match = /^\s*(?:"([^"]*)"\s*)?<([^>]+)>(.*)$/.exec(value) ?? /^\s*()([^;\s]+)(.*)$/.exec(value);
  if (!match) throw new Error(`unparseable header: ${value}`);
  const params = Object.fromEntries(
    (match[3] ?? '')
      .split(';')
      .filter(Boolean)
      .map((param) => {
        const [key = '', paramValue = ''] = param.trim().split('=');
        return [key, paramValue];
      }),
  );
  return { ...(match[1] ? { name: match[1] } : {}), uri: match[2]!, params };
}

export class FakeRequest extends EventEmitter implements SipRequest {
  canceled?: boolean;
  /** For requests the app sent (createUAC): how often it sent CANCEL. */
  cancelsSent = 0;
  private readonly headers: Map<string, string>;

  constructor(
    readonly method: string,
    /** An undefined value leaves the header out. */
    headers: Record<string, string | undefined>,
    readonly body = '',
    readonly source_address = '192.0.2.10',
    readonly uri = 'sip:+494136123456@gateway.example.org',
  ) {
    super();
    this.headers = new Map(Object.entries(headers).flatMap(([name, value]) => (value === undefined ? [] : [[name.toLowerCase(), value]])));
  }

  get(header: string): string | undefined {
    return this.headers.get(header.toLowerCase());
  }

  has(header: string): boolean {
    return this.headers.has(header.toLowerCase());
  }

  getParsedHeader(header: string): ParsedNameAddr {
    const value = this.get(header);
    if (value === undefined) throw new Error(`no ${header} header`);
    return parseNameAddr(value);
  }

  cancel(): void {
    this.cancelsSent++;
    this.emit('fake:cancel-sent');
  }

  /** The caller's CANCEL arrives (drachtio-srf emits "cancel" on the INVITE). */
  receiveCancel(): void {
    this.emit('cancel');
  }
}

export class FakeResponse implements SipResponse {
  readonly sent: Array<{ status: number; reason?: string; headers?: Record<string, string>; body?: string }> = [];
  /** An in-dialog request the app's listener answered (not drachtio-srf on its own). */
  answeredByApp = false;
  /** Runs as the final response leaves: what the caller does the moment it arrives. */
  onFinalResponse?: (status: number) => void;

  get finalResponseSent(): boolean {
    return this.sent.some(({ status }) => status >= 200);
  }

  send(status: number, reason?: string, options?: { headers?: Record<string, string>; body?: string }): void {
    // drachtio-srf drops a second final response silently (lib/response.js:94–99); the fake throws
    // so that a test sees the gateway answering twice.
    if (this.finalResponseSent) throw new Error(`a final response was already sent; tried ${status}`);
    this.sent.push({ status, reason, ...(options?.headers ? { headers: options.headers } : {}), ...(options?.body !== undefined ? { body: options.body } : {}) });
    if (status >= 200) this.onFinalResponse?.(status);
  }

  get finalStatus(): number | undefined {
    return this.sent.find(({ status }) => status >= 200)?.status;
  }

  /** The final response as sent: status, headers, body. */
  get final(): { status: number; headers?: Record<string, string>; body?: string } | undefined {
    return this.sent.find(({ status }) => status >= 200);
  }
}

let dialogCounter = 0;

export class FakeDialog extends EventEmitter implements SipDialog {
  readonly id = `dialog-${++dialogCounter}`;
  readonly local: { sdp: string };
  readonly remote: { sdp: string };
  /** BYEs we sent. */
  byesSent = 0;
  /** BYEs the far end sent. */
  byesReceived = 0;
  /** BYEs the app tried to send on a dialog already ended (drachtio-server refuses them). */
  byesAfterEnd = 0;
  /** How long the far end takes to answer our BYE. */
  byeAnsweredAfterMs = 0;
  /** The status the far end answers our requests (INFO) with. */
  requestStatus = 200;
  /** drachtio-server cannot send our requests on this (still live) dialog. */
  requestsFail = false;
  /** Requests the app tried on a dialog already ended (drachtio-server refuses them). */
  requestsAfterEnd = 0;
  /** The far end's SDP in its 200 OK to a re-INVITE (Dialog#modify resolves with it). */
  modifyAnswerSdp?: string;
  /** The far end's final answer to our next re-INVITE; a failure rejects with a SipError. */
  modifyStatus = 200;
  /** drachtio-srf's re-INVITE queue, as lib/dialog.js:45 keeps it. */
  readonly _reinvitesInProgress = { count: 0, admitOne: [] as Array<() => void> };
  readonly requests: Array<{ method: string; headers?: Record<string, string>; body?: string }> = [];

  constructor(
    readonly kind: 'uas' | 'uac',
    localSdp: string,
    remoteSdp: string,
    readonly uri?: string,
  ) {
    super();
    this.local = { sdp: localSdp };
    this.remote = { sdp: remoteSdp };
  }

  /** How often this dialog ended, from either side. A clean call ends each dialog once. */
  get endings(): number {
    return this.byesSent + this.byesReceived;
  }

  async destroy(): Promise<unknown> {
    if (this.endings > 0) {
      this.byesAfterEnd++;
      throw noSuchDialog();
    }
    this.byesSent++;
    await new Promise((resolve) => setTimeout(resolve, this.byeAnsweredAfterMs).unref());
    return {};
  }

  async request(options: { method: string; headers?: Record<string, string>; body?: string }): Promise<SipResponseMessage> {
    this.requests.push(options);
    if (this.endings > 0) this.requestsAfterEnd++;
    await tick();
    if (this.endings > 0) throw noSuchDialog();
    if (this.requestsFail) throw Object.assign(new Error('request failed'), { code: 'EDRACHTIO' });
    return { status: this.requestStatus, get: () => undefined };
  }

  /** Offers sent in re-INVITEs (Dialog#modify, as drachtio-fsmrf sends them to FreeSWITCH). */
  readonly modifies: string[] = [];

  async modify(sdp: string): Promise<string> {
    if (this.endings > 0) throw new Error('invalid request to modify a completed dialog');
    if (this._reinvitesInProgress.count++ > 0) {
      await new Promise<void>((resolve) => this._reinvitesInProgress.admitOne.push(resolve));
      if (this.endings > 0) {
        this._reinvitesInProgress.count--;
        for (const admit of this._reinvitesInProgress.admitOne) setImmediate(admit);
        throw new Error('dialog was destroyed before we could modify it');
      }
    }
    this.modifies.push(sdp);
    await tick();
    // The far end ended the dialog while the re-INVITE was under way: it answers 481.
    if (this.endings > 0) throw new FakeSipError(481, 'Call/Transaction Does Not Exist');
    if (this.modifyStatus !== 200) throw new FakeSipError(this.modifyStatus, 'Not Acceptable Here');
    this._reinvitesInProgress.count--;
    const next = this._reinvitesInProgress.admitOne.shift();
    if (next) setImmediate(next);
    return this.modifyAnswerSdp ?? `v=0 answer-to(${sdp})`;
  }

  /** The far end hangs up: drachtio answers the BYE and emits "destroy". */
  receiveBye(): void {
    this.byesReceived++;
    this.emit('destroy');
    this.removeAllListeners();
  }

  /**
   * The far end sends a re-INVITE. drachtio-srf 5.0.29 (lib/dialog.js:499–545) takes its body as
   * the remote SDP; with a "modify" listener the app answers, without one drachtio-srf answers
   * 200 with the dialog's local SDP itself (this gateway listens for none of "refresh", "hold",
   * "unhold", so every re-INVITE is a "modify").
   */
  receiveReInvite(body: string, headers: Record<string, string> = {}): FakeResponse {
    const req = new FakeRequest('INVITE', { ...(body ? { 'Content-Type': 'application/sdp' } : {}), ...headers }, body);
    const res = new FakeResponse();
    this.reInviteInProgress = res;
    this.remote.sdp = body;
    if (this.listenerCount('modify') === 0) res.send(200, undefined, { headers: { 'Content-Type': 'application/sdp' }, body: this.local.sdp });
    else {
      res.answeredByApp = true;
      this.emit('modify', req, res);
    }
    return res;
  }

  /** The last re-INVITE the far end sent; drachtio-srf tracks it by Call-ID until its final response. */
  private reInviteInProgress?: FakeResponse;

  /**
   * The far end sends UPDATE (lib/dialog.js:589–596): on the next tick, to the "update" listener or
   * answered 200 by drachtio-srf. While a re-INVITE of the dialog has no final response,
   * drachtio-srf answers it 500 with Retry-After: 5 itself (lib/drachtio-agent.js:680–694).
   */
  async receiveUpdate(body: string, headers: Record<string, string> = {}): Promise<FakeResponse> {
    const req = new FakeRequest('UPDATE', { ...(body ? { 'Content-Type': 'application/sdp' } : {}), ...headers }, body);
    const res = new FakeResponse();
    await tick();
    if (this.reInviteInProgress && !this.reInviteInProgress.finalResponseSent) res.send(500, undefined, { headers: { 'Retry-After': '5' } });
    else if (this.listenerCount('update') === 0) res.send(200, undefined, body ? { body: this.local.sdp } : undefined);
    else {
      res.answeredByApp = true;
      this.emit('update', req, res);
    }
    return res;
  }

  /** The far end's ACK (lib/dialog.js:614–619): its SDP, if any, becomes the remote SDP; "ack" follows on the next tick. */
  receiveAck(body = ''): void {
    if (body) this.remote.sdp = body;
    const req = new FakeRequest('ACK', body ? { 'Content-Type': 'application/sdp' } : {}, body);
    setImmediate(() => this.emit('ack', req));
  }

  /**
   * The far end sends INFO; resolves with the answer. With no "info" listener drachtio-srf
   * answers 200 itself (see above): `answeredByApp` tells a test whether the gateway's own
   * handler answered.
   */
  async receiveInfo(contentType: string, body: string): Promise<FakeResponse> {
    const req = new FakeRequest('INFO', { 'Content-Type': contentType }, body);
    const res = new FakeResponse();
    await tick();
    if (this.listenerCount('info') === 0) res.send(200);
    else {
      res.answeredByApp = true;
      this.emit('info', req, res);
    }
    return res;
  }
}

/** How a fake Jigasi (or other UAS) answers an INVITE. */
export interface UacScript {
  /** Final status; 200 answers. */
  status: number;
  /** Milliseconds until the final answer; 0 answers on the next tick. */
  answerAfterMs?: number;
  /** Never answers on its own (until CANCEL). */
  ringForever?: boolean;
  /** Provisional responses before the final one (180 Ringing, 183 Session Progress), as cbProvisional sees them. */
  provisional?: number[];
  /** The answer crosses our CANCEL on the wire: it arrives anyway, as in real SIP races. */
  answerCrossesCancel?: boolean;
  remoteSdp?: string;
  /**
   * drachtio-server refuses to send the INVITE at all (a request URI it cannot route, a lost
   * connection): drachtio-srf 5.0.29 lib/drachtio-agent.js:333–341 rejects with a plain Error
   * carrying `code` EDRACHTIO and no SIP status.
   */
  notSent?: boolean;
}

export interface SentInvite {
  uri: string;
  options: UacOptions;
  request: FakeRequest;
  dialog?: FakeDialog;
  outcome?: number;
}

export class FakeSrf implements SipServer {
  readonly invitesSent: SentInvite[] = [];
  readonly uasDialogs: FakeDialog[] = [];
  private readonly scripts = new Map<string, UacScript[]>();
  /** Lets a test hold createUAS (the 200 OK to the caller) until it calls the function. */
  uasGate?: Promise<void>;

  /** Answers for INVITEs to `uri`, in order; the last one repeats. */
  script(uri: string, ...answers: UacScript[]): void {
    this.scripts.set(uri, answers);
  }

  async createUAS(req: SipRequest, res: SipResponse, options: { localSdp: string; headers?: Record<string, string> }): Promise<SipDialog> {
    const request = req as FakeRequest;
    // drachtio-srf 5.0.29 lib/srf.js:311–312: no answer without the caller's Contact.
    if (!req.has('Contact')) throw new Error('createUAS: Request is missing Contact header');
    return new Promise<SipDialog>((resolve, reject) => {
      let settled = false;
      request.on('cancel', () => {
        request.canceled = true;
        if (settled) return;
        settled = true;
        reject(new FakeSipError(487, 'Request Terminated'));
      });
      // The body catches nothing because it cannot throw: it only awaits a gate and settles this promise.
      // eslint-disable-next-line @typescript-eslint/no-floating-promises
      void (async () => {
        await (this.uasGate ?? tick());
        if (settled) return;
        settled = true;
        res.send(200, undefined, { ...(options.headers ? { headers: options.headers } : {}), body: options.localSdp });
        const dialog = new FakeDialog('uas', options.localSdp, req.body);
        this.uasDialogs.push(dialog);
        resolve(dialog);
      })();
    });
  }

  async createUAC(uri: string, options: UacOptions, progress: UacProgress = {}): Promise<SipDialog> {
    const answers = this.scripts.get(uri) ?? [{ status: 404 }];
    const script = answers.length > 1 ? answers.shift()! : answers[0]!;
    const request = new FakeRequest('INVITE', { ...options.headers }, options.localSdp ?? '', '127.0.0.1');
    const sent: SentInvite = { uri, options: { ...options, headers: { ...options.headers } }, request };
    this.invitesSent.push(sent);
    return new Promise<SipDialog>((resolve, reject) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (status: number) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sent.outcome = status;
        if (status === 200) {
          sent.dialog = new FakeDialog('uac', options.localSdp ?? '', script.remoteSdp ?? 'v=0 jigasi-answer', uri);
          resolve(sent.dialog);
        } else {
          reject(new FakeSipError(status, status === 487 ? 'Request Terminated' : 'Failed'));
        }
      };
      if (script.notSent) {
        setImmediate(() => reject(Object.assign(new Error('request failed'), { code: 'EDRACHTIO' })));
        return;
      }
      request.on('fake:cancel-sent', () => setImmediate(() => finish(script.answerCrossesCancel ? script.status : 487)));
      setImmediate(() => {
        progress.cbRequest?.(null, request);
        for (const status of script.provisional ?? []) progress.cbProvisional?.({ status, get: () => undefined });
        if (script.ringForever) return;
        timer = setTimeout(() => finish(script.status), script.answerAfterMs ?? 0);
      });
    });
  }
}
