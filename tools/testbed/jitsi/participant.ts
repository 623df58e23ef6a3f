import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../chromium';
import { installPageApi, type HeardTrack, type JoinOptions, type PageApi, type SeenParticipant } from './page-api';

/**
 * A Jitsi Meet participant in headless Chromium for the end-to-end suite: lib-jitsi-meet (built
 * from its public repository outside this one; E2E_LIB_JITSI_MEET names the bundle) on a small
 * page served from loopback, sending a tone and measuring what it hears, and acting as the
 * moderator that the first participant of a room becomes.
 */

/** Chromium's flags for a participant: a fake microphone nobody has to allow, and audio that plays unattended. */
const MEDIA_FLAGS = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--allow-loopback-in-peer-connection',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
];

const PAGE = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>e2e participant</title></head><body><script src="/lib-jitsi-meet.min.js"></script></body></html>';

export interface JitsiBrowser {
  /** A participant in its own browser context, joined when this resolves. */
  open(options: Omit<JoinOptions, 'serviceUrl' | 'domain' | 'muc'>): Promise<Participant>;
  close(): Promise<void>;
  readonly description: string;
}

export interface Participant {
  participants(): Promise<SeenParticipant[]>;
  heard(ms: number): Promise<HeardTrack[]>;
  muteParticipant(id: string): Promise<void>;
  kickParticipant(id: string): Promise<void>;
  lock(password: string): Promise<void>;
  enableLobby(): Promise<void>;
  knocking(): Promise<Array<{ id: string; name: string }>>;
  admit(id: string): Promise<void>;
  dial(number: string): Promise<{ ok: boolean; error?: string }>;
  leave(): Promise<void>;
}

export async function openJitsiBrowser(site: { serviceUrl: string; domain: string; muc: string; libJitsiMeet: string }): Promise<JitsiBrowser> {
  const library = readFileSync(site.libJitsiMeet);
  const server: Server = createServer((req, res) => {
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else if (req.url === '/lib-jitsi-meet.min.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(library);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  let launched: { browser: Browser; description: string };
  try {
    launched = await launchChromium({ args: MEDIA_FLAGS });
  } catch (error) {
    server.close();
    throw error;
  }
  const { browser } = launched;
  return {
    description: launched.description,
    async open(options) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const call = async <K extends keyof PageApi>(method: K, ...args: Parameters<PageApi[K]>): Promise<Awaited<ReturnType<PageApi[K]>>> =>
        page.evaluate(([name, values]) => ((window as unknown as { jitsiTest: Record<string, (...a: unknown[]) => unknown> }).jitsiTest[name]!(...values) as never), [method, args] as [string, unknown[]]);
      try {
        await page.goto(pageUrl);
        await page.addScriptTag({ content: `(${installPageApi.toString()})();` });
        const joined = await call('join', { ...options, serviceUrl: site.serviceUrl, domain: site.domain, muc: site.muc });
        if (joined.state === 'failed') throw new Error(`the browser participant "${options.name}" could not join ${options.room}: ${joined.error}`);
      } catch (error) {
        await context.close();
        throw error;
      }
      return {
        participants: async () => call('participants'),
        heard: async (ms) => call('heard', ms),
        muteParticipant: async (id) => call('muteParticipant', id),
        kickParticipant: async (id) => call('kickParticipant', id),
        lock: async (password) => call('lock', password),
        enableLobby: async () => call('enableLobby'),
        knocking: async () => call('knocking'),
        admit: async (id) => call('admit', id),
        dial: async (number) => call('dial', number),
        leave: async () => {
          await call('leave').catch(() => undefined);
          await context.close();
        },
      };
    },
    async close() {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
