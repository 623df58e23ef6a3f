import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { runCli } from '../../app/cli';
import { CONSOLE_POLICY } from '../../provisioning/http/console-files';
import { launchChromium } from '../../tools/testbed/chromium';
import { screenshotDir, seriousAccessibilityFindings } from './browser';
import { readJson, startTestService, tempDir, testEnv, until, type TestService } from '../support/service';
import { harness, JIGASI_1, type Harness } from '../gateway/harness';

/**
 * The admin console (/admin/) in real headless Chromium against the real service and a real
 * SQLite database: what the council office does before and during a committee meeting.
 */

jest.setTimeout(60_000);

const PASSWORD = 'Sitzungsdienst-2026!';
const COUNCIL = ['Frau Meyer', 'Herr Schulz', 'Frau Öztürk', 'Herr Janßen', 'Frau Hinrichs', 'Herr Brandt', 'Frau Lüders', 'Herr Wübbena', 'Frau Tammen', 'Herr Ahlers', 'Frau Gerdes'];
const ROOM = 'bauausschuss';
const MEETING = 'Bauausschuss, Sitzung am 12. März';

const dir = tempDir();
let service: TestService;
let browser: Browser;
let shots: string;

async function addAccount(name: string, role: string): Promise<void> {
  const io = { out: () => undefined, err: (text: string) => void process.stderr.write(text), input: async () => `${PASSWORD}\n` };
  expect(await runCli(['user', 'add', name, '--role', role, '--password-stdin'], testEnv({ DB_PATH: join(dir.path, 'console.sqlite') }), io)).toBe(0);
}

/** A page in a fresh browser context (its own cookies); CSP violations reported by Chromium are collected. */
async function openConsole(options: { width?: number } = {}): Promise<{ context: BrowserContext; page: Page; policyViolations: string[]; dialogs: string[] }> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: 900 }, locale: 'de-DE', timezoneId: 'Europe/Berlin' });
  const page = await context.newPage();
  const policyViolations: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) policyViolations.push(message.text());
  });
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    // A failed accept shows in the dialogs a test expects.
    dialog.accept().catch((error: unknown) => dialogs.push(`accept failed: ${String(error)}`));
  });
  await page.goto(`${service.url}/admin/`);
  return { context, page, policyViolations, dialogs };
}

async function signIn(page: Page, name: string, password = PASSWORD): Promise<void> {
  await page.getByLabel('Benutzername').fill(name);
  await page.getByLabel('Kennwort').fill(password);
  await page.getByRole('button', { name: 'Anmelden' }).click();
}

async function expectAccessible(page: Page, what: string): Promise<void> {
  const findings = await seriousAccessibilityFindings(page);
  expect({ what, findings }).toEqual({ what, findings: [] });
}

/** Waits for the `count`th match, then checks there are no more. */
async function expectCount(page: Page, selector: string, count: number): Promise<void> {
  await page.locator(selector).nth(count - 1).waitFor();
  expect(await page.locator(selector).count()).toBe(count);
}

const shot = async (page: Page, name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

beforeAll(async () => {
  await addAccount('sitzungsdienst', 'clerk');
  await addAccount('gesperrt', 'clerk');
  await addAccount('presse', 'viewer');
  service = await startTestService(join(dir.path, 'console.sqlite'), { COOKIE_SECURE: 'false', MUNICIPALITY_NAME: 'Samtgemeinde Musterau' });
  const launched = await launchChromium({ args: ['--lang=de-DE'] });
  browser = launched.browser;
  console.info(`the admin console tests run in ${launched.description}`);
  shots = screenshotDir(join(dir.path, 'screenshots'));
  // Unpacking the Chromium @sparticuz/chromium ships may take up to its own 60 s limit.
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  dir.cleanup();
});

describe('the page itself', () => {
  it('is served at /admin/ from this service only, under a strict policy that Chromium enforces without complaint', async () => {
    const response = await fetch(`${service.url}/admin/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBe(CONSOLE_POLICY);
    expect(CONSOLE_POLICY).toMatch(/script-src 'self'(;|$)/);
    expect(CONSOLE_POLICY).toContain("frame-ancestors 'none'");
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/https?:\/\//);
    expect((await fetch(`${service.url}/admin`, { redirect: 'manual' })).status).toBe(301);

    const { context, page, policyViolations } = await openConsole();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    await page.reload();
    await page.getByLabel('Benutzername').waitFor();
    expect(requested.filter((url) => !url.startsWith(service.url))).toEqual([]);
    expect(policyViolations).toEqual([]);
    await expectAccessible(page, 'sign-in');
    await shot(page, 'anmelden');
    await context.close();
  });
});

describe('signing in', () => {
  it('refuses a wrong password in words, and locks an account after five wrong ones', async () => {
    const { context, page } = await openConsole();
    await signIn(page, 'sitzungsdienst', 'falsches-kennwort');
    await expect(page.getByRole('status').textContent()).resolves.toBe('Benutzername oder Kennwort ist falsch.');
    await expect(page.getByLabel('Kennwort').inputValue()).resolves.toBe('');

    for (let attempt = 1; attempt <= 5; attempt++) {
      await signIn(page, 'gesperrt', `falsch-${attempt}`);
      await page.getByText('Benutzername oder Kennwort ist falsch.').waitFor();
    }
    await signIn(page, 'gesperrt');
    await page.getByText('Zu viele falsche Kennwörter. Bitte warten Sie 15 Minuten und versuchen Sie es dann erneut.').waitFor();
    expect(await page.getByRole('heading', { name: 'Räume' }).count()).toBe(0);
    await context.close();
  });
});

describe('before the committee meeting', () => {
  let page: Page;
  let context: BrowserContext;
  let policyViolations: string[];
  let dialogs: string[];

  beforeAll(async () => {
    ({ page, context, policyViolations, dialogs } = await openConsole());
  });
  afterAll(async () => {
    expect(policyViolations).toEqual([]);
    await context.close();
  });

  it('signs in with the keyboard alone, with the focus always visible', async () => {
    await page.getByLabel('Benutzername').focus();
    await page.keyboard.type('sitzungsdienst');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('password');
    expect(await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle)).not.toBe('none');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Räume', level: 1 }).waitFor();
    await expect(page.getByText('Angemeldet: sitzungsdienst (Sitzungsdienst)').count()).resolves.toBe(1);
  });

  it('creates the meeting room', async () => {
    await page.getByLabel('Raumname').fill('Bauausschuss');
    await page.getByLabel('Titel (Sitzung)').fill(MEETING);
    await page.getByLabel('Alle Anrufenden beginnen stummgeschaltet').check();
    await page.getByRole('button', { name: 'Raum anlegen' }).click();
    await page.getByRole('heading', { name: MEETING, level: 1 }).waitFor();
    expect(page.url()).toMatch(/#\/rooms\/bauausschuss$/);
    const { room } = await service.directory.getRoom(ROOM);
    expect(room).toMatchObject({ title: MEETING, startMuted: true, dialInPublic: false });
    expect((await service.directory.listAudit(1))[0]).toMatchObject({ sub: 'user:sitzungsdienst', action: 'room.create', target: ROOM });
  });

  it("sets the room's listeners to share one connection, and back", async () => {
    const shared = page.getByLabel(/Zuhörende \(Zuhörer-PINs\) gemeinsam verbinden/);
    for (const [check, listeners] of [[true, 'shared'], [false, 'separate']] as const) {
      await (check ? shared.check() : shared.uncheck());
      await page.getByRole('button', { name: 'Einstellungen speichern' }).click();
      await page.getByText('Einstellungen gespeichert.').waitFor();
      expect((await service.directory.getRoom(ROOM)).room).toMatchObject({ listeners, startMuted: true });
      await expect(shared.isChecked()).resolves.toBe(check);
    }
  });

  it('takes a room name of 100 characters outside the Basic Multilingual Plane whole (the limit counts characters)', async () => {
    const longName = '\u{20000}'.repeat(100);
    await page.goto(`${service.url}/admin/#/rooms`);
    await page.getByLabel('Raumname').fill(longName);
    expect(await page.getByLabel('Raumname').inputValue()).toBe(longName);
    await page.getByRole('button', { name: 'Raum anlegen' }).click();
    await page.waitForURL(/#\/rooms\/%F0%A0%80%80/i);
    expect((await service.directory.getRoom(longName)).room.name).toBe(longName);
  });

  it('says next to the field why a room name does not work', async () => {
    await page.goto(`${service.url}/admin/#/rooms`);
    await page.getByLabel('Raumname').fill('rat/../../x');
    await page.getByRole('button', { name: 'Raum anlegen' }).click();
    const error = page.locator('.field-error:not([hidden])');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/^Dieser Raumname geht nicht/);
    expect(await page.getByLabel('Raumname').getAttribute('aria-invalid')).toBe('true');
    await page.goto(`${service.url}/admin/#/rooms/${ROOM}`);
    await page.getByRole('heading', { name: MEETING, level: 1 }).waitFor();
  });

  it('makes eleven personal PINs from eleven pasted names, valid for the evening', async () => {
    await page.getByLabel('Gültig ab').fill('2026-03-12T18:30');
    await page.getByLabel('Gültig bis').fill('2026-03-12T22:00');
    await page.getByLabel('Namen, einer pro Zeile').fill(`${COUNCIL.join('\n')}\n\n`);
    await page.getByRole('button', { name: 'Für jeden Namen eine PIN erstellen' }).click();
    await page.getByText('11 PINs erstellt.').waitFor();
    await expectCount(page, 'table.pins tbody tr', 11);
    const { pins } = await service.directory.getRoom(ROOM);
    expect(pins.map((pin) => pin.label).sort()).toEqual([...COUNCIL].sort());
    expect(new Set(pins.map((pin) => pin.pin)).size).toBe(11);
    for (const pin of pins) expect([new Date(pin.validFrom!).toISOString(), new Date(pin.validUntil!).toISOString()]).toEqual(['2026-03-12T17:30:00.000Z', '2026-03-12T21:00:00.000Z']);
    const meyer = pins.find((pin) => pin.label === 'Frau Meyer')!;
    await expect(page.getByRole('row', { name: /Frau Meyer/ }).textContent()).resolves.toContain(meyer.pin);
    await expectAccessible(page, 'room');
    await shot(page, 'raum');
  });

  it('prints a letter for a council member with everything she needs and what is stored', async () => {
    await page.getByRole('link', { name: 'Brief für Frau Öztürk' }).click();
    const letter = page.locator('article.letter');
    await letter.waitFor();
    const { pins } = await service.directory.getRoom(ROOM);
    const pin = pins.find((candidate) => candidate.label === 'Frau Öztürk')!.pin;
    const text = (await letter.innerText()).replace(/\s+/g, ' ');
    expect(text).toContain('Samtgemeinde Musterau');
    expect(text).toContain(`Ihre Einwahl per Telefon: ${MEETING}`);
    expect(text).toContain('Guten Tag Frau Öztürk,');
    expect(text).toContain('Ihre PIN gilt vom Donnerstag, 12. März 2026 um 18:30 bis zum Donnerstag, 12. März 2026 um 22:00.');
    expect(text).toContain('Wählen Sie +49 4136 123456 oder +43 1 234567.');
    expect(text).toContain(`${pin.slice(0, 4)} ${pin.slice(4)}`);
    expect(text).toContain('*6 Stern und 6: Mikrofon stumm schalten und wieder einschalten');
    expect(text).toContain('*1 Stern und 1: die Tasten ansagen lassen');
    expect(text).toContain('Diese Angaben werden nach 30 Tagen gelöscht.');
    expect(text).toContain('die anderen Teilnehmenden sehen „Frau Öztürk“');
    expect(await page.locator('article.letter').count()).toBe(1);
    await expectAccessible(page, 'letter');
    await shot(page, 'brief');
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('header').isVisible()).toBe(false);
    await page.emulateMedia({ media: 'screen' });

    await page.goto(`${service.url}/admin/#/rooms/${ROOM}/overview`);
    await page.locator('article.overview').waitFor();
    expect(await page.locator('article.overview tbody tr').count()).toBe(11);
    await page.goto(`${service.url}/admin/#/rooms/${ROOM}/letters`);
    await expectCount(page, 'article.letter', 11);
  });

  it('shows a label with markup in it as text, and refuses such a label typed into the form, in words next to the field', async () => {
    await service.directory.createPin(ROOM, { label: '<img src=x onerror="window.__xss=1">' }, 'test');
    await page.goto(`${service.url}/admin/#/rooms/${ROOM}`);
    await page.getByRole('rowheader', { name: '<img src=x onerror="window.__xss=1">' }).waitFor();
    expect(await page.locator('table.pins img').count()).toBe(0);

    await page.getByLabel('Name', { exact: true }).fill('<script>alert(1)</script>');
    await page.getByRole('button', { name: 'Eine PIN erstellen', exact: true }).click();
    const error = page.locator('.field-error:not([hidden])');
    await error.waitFor();
    expect(await error.textContent()).toBe('Der Name darf höchstens 64 Zeichen haben, ohne Anführungszeichen, spitze Klammern oder Backslash.');
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect((await service.directory.getRoom(ROOM)).pins).toHaveLength(12);
  });

  it('revokes a PIN and makes a new one for the same person', async () => {
    const before = (await service.directory.getRoom(ROOM)).pins;
    const brandt = before.find((pin) => pin.label === 'Herr Brandt')!;
    await page.getByRole('button', { name: 'Neue PIN für Herr Brandt' }).click();
    await page.getByText('Neue PIN für „Herr Brandt“ erzeugt.').waitFor();
    const renewed = (await service.directory.getRoom(ROOM)).pins.find((pin) => pin.label === 'Herr Brandt')!;
    expect(renewed.pin).not.toBe(brandt.pin);
    expect([renewed.validFrom, renewed.validUntil]).toEqual([brandt.validFrom, brandt.validUntil]);

    await page.getByRole('button', { name: 'PIN von <img src=x onerror="window.__xss=1"> widerrufen' }).click();
    await page.getByText(/^PIN von „<img/).waitFor();
    expect(dialogs).toEqual(['Für „Herr Brandt“ eine neue PIN erzeugen? Die alte funktioniert sofort nicht mehr.', 'PIN von „<img src=x onerror="window.__xss=1">“ widerrufen? Sie funktioniert sofort nicht mehr.']);
    expect((await service.directory.getRoom(ROOM)).pins.map((pin) => pin.label).sort()).toEqual([...COUNCIL].sort());
  });
});

describe('during the meeting', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await harness({}, { [JIGASI_1]: [{ status: 200 }] });
    // The call goes through the service's own PIN lookup and registry: what the console lists is what the gateway runs.
    const fakes = h.callDependencies.bind(h);
    h.callDependencies = () => ({ ...fakes(), resolver: service.resolver, registry: service.calls });
  });
  afterAll(async () => h.close());

  it('sees a council member call in, mutes her and hangs her up, without reloading the page', async () => {
    const { context, page, dialogs } = await openConsole();
    await signIn(page, 'sitzungsdienst');
    await page.getByRole('link', { name: 'Laufende Anrufe' }).click();
    await page.getByText('Zurzeit ist niemand per Telefon verbunden.').waitFor();

    const pin = (await service.directory.getRoom(ROOM)).pins.find((candidate) => candidate.label === 'Frau Meyer')!;
    // The room starts muted; the PIN is valid on the meeting evening only, so the test lets it be valid now.
    await service.directory.putRoom(ROOM, { startMuted: false }, 'test');
    await service.directory.updatePin(pin.id, { validFrom: null, validUntil: null }, 'test');
    const { done } = h.invite();
    await until(() => h.media.endpoints[0]?.holdsEntry === true, 'the PIN prompt');
    h.media.endpoints[0]!.pressKeys(`${pin.pin}#`);

    const row = page.getByRole('row', { name: /Frau Meyer/ });
    await row.getByText('in der Konferenz').waitFor();
    await expect(row.textContent()).resolves.toContain(ROOM);
    await expectAccessible(page, 'calls');
    await shot(page, 'laufende-anrufe');

    await page.getByRole('button', { name: 'Frau Meyer stumm schalten' }).click();
    await page.getByRole('button', { name: 'Stummschaltung von Frau Meyer aufheben' }).waitFor();
    expect(h.media.endpoints[0]!.readMuted).toBe(true);
    expect(service.calls.list()[0]).toMatchObject({ muted: true, label: 'Frau Meyer' });

    await page.getByRole('button', { name: 'Frau Meyer auflegen' }).click();
    await done;
    await page.getByText('Zurzeit ist niemand per Telefon verbunden.').waitFor();
    expect(dialogs).toEqual(['Anruf von Frau Meyer beenden?']);
    expect(h.srf.invitesSent[0]!.dialog!.byesSent).toBe(1);
    const audit = (await service.directory.listAudit(5)).map((entry) => `${entry.sub} ${entry.action}`);
    expect(audit).toEqual(expect.arrayContaining(['user:sitzungsdienst call.mute', 'user:sitzungsdienst call.kick']));
    await context.close();
  });

  it('shows the audit log and the status of every part, and signs out', async () => {
    const { context, page } = await openConsole();
    await signIn(page, 'sitzungsdienst');
    await page.getByRole('link', { name: 'Protokoll' }).click();
    await page.getByRole('row', { name: /user:sitzungsdienst Anruf beendet/ }).first().waitFor();
    await expect(page.getByRole('row', { name: /user:sitzungsdienst PIN erstellt \S+ in bauausschuss/ }).count()).resolves.toBe(12);
    await expectAccessible(page, 'audit');
    await shot(page, 'protokoll');

    await page.getByRole('link', { name: 'Status' }).click();
    await page.getByText('Nicht bereit: Anrufe können scheitern.').waitFor();
    await expect(page.getByRole('row', { name: /Medienserver \(FreeSWITCH\) gestört/ }).count()).resolves.toBe(1);
    await expect(page.getByRole('row', { name: /Datenbank in Betrieb/ }).count()).resolves.toBe(1);
    await expectAccessible(page, 'status');
    await shot(page, 'status');

    await page.getByRole('button', { name: 'Abmelden' }).click();
    await page.getByLabel('Benutzername').waitFor();
    expect(await page.evaluate(async () => (await fetch('/api/v1/rooms')).status)).toBe(401);
    await context.close();
  });
});

describe('the session', () => {
  it('ends in the page too: a session ended elsewhere brings back the sign-in, saying why', async () => {
    const { context, page } = await openConsole();
    await signIn(page, 'sitzungsdienst');
    await page.getByRole('link', { name: 'Laufende Anrufe' }).click();
    await page.getByText('Zurzeit ist niemand per Telefon verbunden.').waitFor();
    const cookie = (await context.cookies()).map((entry) => `${entry.name}=${entry.value}`).join('; ');
    expect((await fetch(`${service.url}/api/v1/session`, { method: 'DELETE', headers: { cookie, origin: service.url } })).status).toBe(204);
    await page.getByText('Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.').waitFor();
    await page.getByLabel('Benutzername').waitFor();
    await context.close();
  });

  it('speaks English on request, and keeps it', async () => {
    const { context, page } = await openConsole();
    await signIn(page, 'sitzungsdienst');
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Rooms', level: 1 }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    await page.reload();
    await page.getByRole('link', { name: 'Live calls' }).waitFor();
    await page.getByRole('button', { name: 'Deutsch' }).click();
    await page.getByRole('heading', { name: 'Räume', level: 1 }).waitFor();
    await context.close();
  });
});

describe('a viewer (the press office)', () => {
  it('reads rooms and PINs but sees no control that changes them, and the API refuses a write', async () => {
    const { context, page } = await openConsole();
    await signIn(page, 'presse');
    await page.getByRole('link', { name: ROOM }).click();
    await page.getByRole('heading', { name: MEETING, level: 1 }).waitFor();
    await expectCount(page, 'table.pins tbody tr', 11);
    expect(await page.getByRole('button', { name: /widerrufen|Neue PIN|PIN erstellen|speichern|löschen/ }).count()).toBe(0);
    await page.goto(`${service.url}/admin/#/rooms`);
    await page.getByRole('heading', { name: 'Räume', level: 1 }).waitFor();
    expect(await page.getByRole('button', { name: 'Raum anlegen' }).count()).toBe(0);
    const status = await page.evaluate(async (room) => (await fetch(`/api/v1/rooms/${room}/pins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"label":"Hintertür"}' })).status, ROOM);
    expect(status).toBe(403);
    expect((await service.directory.getRoom(ROOM)).pins).toHaveLength(11);
    await context.close();
  });
});

describe('another site', () => {
  let evil: Server;
  afterAll(async () => new Promise<void>((resolve) => evil.close(() => resolve())));

  it('cannot make a signed-in clerk create a PIN (the Origin is not ours)', async () => {
    const target = `${service.url}/api/v1/rooms/${ROOM}/pins`;
    evil = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><title>Gewinnspiel</title><form method="post" action="${target}" enctype="text/plain"><input name='{"label":"x","y":"' value='"}'></form>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const { context, page } = await openConsole();
    await signIn(page, 'sitzungsdienst');
    await page.getByRole('heading', { name: 'Räume', level: 1 }).waitFor();
    const evilPage = await context.newPage();
    await evilPage.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
    const answer = evilPage.waitForResponse(target);
    await evilPage.evaluate(() => document.forms[0]!.submit());
    expect((await answer).status()).toBe(403);
    expect((await service.directory.getRoom(ROOM)).pins).toHaveLength(11);
    const direct = await fetch(target, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json', cookie: (await context.cookies()).map((cookie) => `${cookie.name}=${cookie.value}`).join('; ') }, body: '{"label":"x"}' });
    expect(direct.status).toBe(403);
    expect((await readJson(direct)).error.code).toBe('forbidden');
    await context.close();
  });
});

describe('on a phone', () => {
  it('fits a 360-pixel screen without sideways scrolling of the page', async () => {
    const { context, page } = await openConsole({ width: 360 });
    await signIn(page, 'sitzungsdienst');
    await page.getByRole('heading', { name: 'Räume', level: 1 }).waitFor();
    await page.getByRole('link', { name: ROOM }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await expectAccessible(page, 'rooms on a phone');
    await shot(page, 'raeume-telefon');
    await context.close();
  });
});
