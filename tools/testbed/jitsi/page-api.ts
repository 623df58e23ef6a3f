/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return -- lib-jitsi-meet ships no types; this runs in the browser against its untyped API */
/// <reference lib="dom" />

/**
 * What the browser participant does in its page, on lib-jitsi-meet (window.JitsiMeetJS): join a
 * room sending a tone, read the participants, measure what it hears, and act as a moderator. It is
 * installed as one self-contained function (participant.ts passes it to the page as source), so
 * it refers to nothing outside itself.
 */

export interface JoinOptions {
  serviceUrl: string;
  domain: string;
  muc: string;
  room: string;
  name: string;
  toneHz: number;
}

export type JoinResult = { state: 'joined'; moderator: boolean } | { state: 'failed'; error: string };

export interface SeenParticipant {
  id: string;
  name: string | null;
  audioMuted: boolean;
  moderator: boolean;
}

export interface HeardTrack {
  id: string;
  name: string | null;
  /** RMS of the received audio, 0–1. */
  rms: number;
  /** The strongest frequency, null when silent. */
  peakHz: number | null;
}

export interface PageApi {
  join(options: JoinOptions): Promise<JoinResult>;
  participants(): SeenParticipant[];
  heard(ms: number): Promise<HeardTrack[]>;
  muteParticipant(id: string): void;
  kickParticipant(id: string): void;
  lock(password: string): Promise<void>;
  enableLobby(): Promise<void>;
  knocking(): Array<{ id: string; name: string }>;
  admit(id: string): void;
  dial(number: string): Promise<{ ok: boolean; error?: string }>;
  leave(): Promise<void>;
}

export function installPageApi(): void {
  const J = (window as any).JitsiMeetJS;
  const CE = J.events.conference;
  const sleep = async (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const state: { ctx?: AudioContext; oscillator?: OscillatorNode; connection?: any; conference?: any; local?: any; remote: Map<string, { participantId: string; analyser: AnalyserNode }>; knocking: Map<string, string> } = {
    remote: new Map(),
    knocking: new Map(),
  };
  const context = () => (state.ctx ??= new AudioContext({ sampleRate: 48000 }));
  const analyser = () => {
    const node = context().createAnalyser();
    node.fftSize = 8192;
    node.smoothingTimeConstant = 0;
    return node;
  };
  const nameOf = (id: string): string | null => state.conference?.getParticipantById(id)?.getDisplayName() ?? null;

  async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) return false;
      await sleep(50);
    }
    return true;
  }

  function attachRemoteAudio(track: any): void {
    const stream = new MediaStream([track.getTrack()]);
    // Chromium feeds a remote WebRTC track into WebAudio only while a media element plays it.
    const element = document.createElement('audio');
    element.muted = true;
    element.autoplay = true;
    element.srcObject = stream;
    document.body.appendChild(element);
    element.play().catch(() => undefined);
    const node = analyser();
    context().createMediaStreamSource(stream).connect(node);
    state.remote.set(track.getId(), { participantId: track.getParticipantId(), analyser: node });
  }

  async function connect(options: JoinOptions): Promise<any> {
    const connection = new J.JitsiConnection(null, null, {
      hosts: { domain: options.domain, muc: options.muc },
      serviceUrl: `${options.serviceUrl}?room=${encodeURIComponent(options.room)}`,
      websocketKeepAlive: -1,
      enableWebsocketResume: false,
    });
    await new Promise<void>((resolve, reject) => {
      connection.addEventListener(J.events.connection.CONNECTION_ESTABLISHED, () => resolve());
      connection.addEventListener(J.events.connection.CONNECTION_FAILED, (error: unknown) => reject(new Error(`XMPP connection failed: ${String(error)}`)));
      connection.connect();
    });
    return connection;
  }

  async function joinRoom(): Promise<JoinResult> {
    const conference = state.conference;
    const outcome = new Promise<JoinResult>((resolve) => {
      conference.on(CE.CONFERENCE_JOINED, () => resolve({ state: 'joined', moderator: Boolean(conference.isModerator()) }));
      conference.on(CE.CONFERENCE_FAILED, (error: unknown) => resolve({ state: 'failed', error: String(error) }));
      setTimeout(() => resolve({ state: 'failed', error: 'timeout' }), 20_000);
    });
    conference.join();
    return outcome;
  }

  const api: PageApi = {
    async join(options) {
      J.init({ disableAudioLevels: true });
      J.setLogLevel(J.logLevels.ERROR);
      const ctx = context();
      await ctx.resume();
      const oscillator = ctx.createOscillator();
      const gain = ctx.createGain();
      const destination = ctx.createMediaStreamDestination();
      oscillator.frequency.value = options.toneHz;
      gain.gain.value = 0.3;
      oscillator.connect(gain).connect(destination);
      oscillator.start();
      state.oscillator = oscillator;
      [state.local] = await J.createLocalTracksFromMediaStreams([{ stream: destination.stream, mediaType: 'audio', sourceType: 'tone' }]);
      state.connection = await connect(options);
      const conference = state.connection.initJitsiConference(options.room, { p2p: { enabled: false } });
      state.conference = conference;
      conference.on(CE.TRACK_ADDED, (track: any) => {
        if (!track.isLocal() && track.getType() === 'audio') attachRemoteAudio(track);
      });
      conference.on(CE.TRACK_REMOVED, (track: any) => state.remote.delete(track.getId()));
      conference.on(CE.LOBBY_USER_JOINED, (id: string, name: string) => state.knocking.set(id, name));
      conference.on(CE.LOBBY_USER_LEFT, (id: string) => state.knocking.delete(id));
      conference.setDisplayName(options.name);
      await conference.addTrack(state.local);
      const result = await joinRoom();
      // The owner role arrives just after the join.
      if (result.state === 'joined') await waitUntil(() => Boolean(conference.isModerator()), 2000);
      return result.state === 'joined' ? { state: 'joined', moderator: Boolean(conference.isModerator()) } : result;
    },
    participants() {
      return (state.conference?.getParticipants() ?? []).map((participant: any) => ({
        id: participant.getId(),
        name: participant.getDisplayName() ?? null,
        audioMuted: Boolean(participant.isAudioMuted()),
        moderator: Boolean(participant.isModerator()),
      }));
    },
    async heard(ms) {
      await context().resume();
      const tracks = [...state.remote.values()];
      const sums = tracks.map(({ analyser: node }) => ({ node, time: new Float32Array(node.fftSize), spectrum: new Float32Array(node.frequencyBinCount), power: new Float64Array(node.frequencyBinCount), squares: 0, samples: 0 }));
      const end = performance.now() + ms;
      do {
        for (const sum of sums) {
          sum.node.getFloatTimeDomainData(sum.time);
          for (const value of sum.time) sum.squares += value * value;
          sum.samples += sum.time.length;
          sum.node.getFloatFrequencyData(sum.spectrum);
          sum.spectrum.forEach((db, bin) => (sum.power[bin]! += Number.isFinite(db) ? 10 ** (db / 10) : 0));
        }
        await sleep(40);
      } while (performance.now() < end);
      return tracks.map(({ participantId }, index) => {
        const sum = sums[index]!;
        const rms = Math.sqrt(sum.squares / Math.max(1, sum.samples));
        const binHz = context().sampleRate / sum.node.fftSize;
        let peak = Math.ceil(30 / binHz);
        for (let bin = peak; bin < sum.power.length; bin++) if (sum.power[bin]! > sum.power[peak]!) peak = bin;
        return { id: participantId, name: nameOf(participantId), rms, peakHz: rms < 1e-4 ? null : Math.round(peak * binHz) };
      });
    },
    muteParticipant(id) {
      state.conference.muteParticipant(id, 'audio');
    },
    kickParticipant(id) {
      state.conference.kickParticipant(id);
    },
    async lock(password) {
      await state.conference.lock(password);
      await waitUntil(() => Boolean(state.conference.room?.locked), 5000);
    },
    async enableLobby() {
      await state.conference.enableLobby();
      await waitUntil(() => Boolean(state.conference.isMembersOnly()), 5000);
    },
    knocking() {
      return [...state.knocking].map(([id, name]) => ({ id, name }));
    },
    admit(id) {
      state.conference.lobbyApproveAccess(id);
    },
    async dial(number) {
      try {
        await state.conference.dial(number);
        return { ok: true };
      } catch (error) {
        return { ok: false, error: String((error as Error | undefined)?.message ?? error) };
      }
    },
    async leave() {
      await state.conference?.leave().catch(() => undefined);
      await state.local?.dispose().catch(() => undefined);
      state.connection?.disconnect();
      state.oscillator?.stop();
      await state.ctx?.close();
    },
  };
  (window as any).jitsiTest = api;
}
