import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Parser as TunedParser } from 'drachtio-modesl';
import { assertPatchable, tuneEslParser } from '../../gateway/esl-parser';

/**
 * The tuned drachtio-modesl parser against an untouched copy of the same library, fed the same
 * bytes FreeSWITCH sends: every event must come out exactly as the library builds it.
 */

interface Parsed {
  event: { type: unknown; subclass: unknown; body: unknown; headers: unknown };
  headers: unknown;
  body: unknown;
}

type ParserLike = { buffer: Buffer; on(name: string, listener: (...args: unknown[]) => void): void };

function feed(ParserClass: new (socket: EventEmitter) => unknown, chunks: Buffer[]): { parsed: Parsed[]; errors: string[]; parser: ParserLike } {
  const socket = new EventEmitter();
  const parser = new ParserClass(socket) as ParserLike;
  const parsed: Parsed[] = [];
  const errors: string[] = [];
  parser.on('esl::event', (event, headers, body) => parsed.push({ event: event as Parsed['event'], headers, body }));
  parser.on('error', (error) => errors.push((error as Error).message));
  for (const chunk of chunks) socket.emit('data', chunk);
  return { parsed, errors, parser };
}

function untouchedParser(): new (socket: EventEmitter) => unknown {
  let parser: (new (socket: EventEmitter) => unknown) | undefined;
  jest.isolateModules(() => {
    // A second, untouched instance of the module can only be had through require inside isolateModules.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    parser = (require('drachtio-modesl') as { Parser: new (socket: EventEmitter) => unknown }).Parser;
  });
  return parser!;
}

function withBody(headers: string, body: string): string {
  return `${headers}\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`;
}

/** A channel as FreeSWITCH describes it: ~200 headers, variables URL-encoded in plain text. */
function channelFields(): Record<string, string> {
  const fields: Record<string, string> = {
    'Event-Name': 'CHANNEL_EXECUTE_COMPLETE',
    'Unique-ID': 'b1600fb9-2317-4a88-9911-fd1ff836485e',
    Application: 'play_and_get_digits',
    'Application-Response': '_none_',
    variable_pin_digits: '4711',
    variable_sip_from_display: 'Gemeinderat "Süd" & Co: 50%',
  };
  for (let index = 0; index < 200; index++) fields[`variable_setting_${index}`] = `value ${index}: a=b;c`;
  return fields;
}

const plainChannelData = Object.entries(channelFields())
  .map(([name, value]) => `${name}: ${encodeURIComponent(value)}`)
  .join('\n');

const STREAM = [
  withBody('Content-Type: text/event-json', JSON.stringify(channelFields())),
  `Content-Type: command/reply\nReply-Text: +OK\nSocket-Mode: async\nControl: full\n${plainChannelData}\nRaw-Value: a: b: c\nNo-Separator\nEmpty: \n\n`,
  withBody('Content-Type: api/response', '+OK d2f1b3a0-9a8e-4a4f-9f00-000000000001\n'),
  'Content-Type: command/reply\nReply-Text: -ERR invalid session id [nope]\n\n',
  withBody('Content-Type: text/event-plain', withBody('Event-Name: CUSTOM\nEvent-Subclass: conference%3A%3Amaintenance\nAction: mute-member', 'member body text')),
  withBody('Content-Type: text/event-json', '{"Event-Name": "DTMF", "DTMF-Digit": "5", "Content-Length": "3", "_body": "abc"}'),
  withBody('Content-Type: text/event-json', '{"not json'),
].join('');

describe("drachtio-modesl's event-socket parser, tuned", () => {
  beforeAll(() => tuneEslParser());

  it('builds every kind of message FreeSWITCH sends exactly as the library does', () => {
    const bytes = Buffer.from(STREAM);
    const expected = feed(untouchedParser(), [bytes]);
    const actual = feed(TunedParser, [bytes]);

    expect(expected.parsed).toHaveLength(7);
    expect(expected.errors).toHaveLength(1);
    expect(actual.parsed).toEqual(expected.parsed);
    expect(actual.errors).toEqual(expected.errors);
    expect(actual.parsed[0]!.event.headers).toContainEqual({ name: 'variable_sip_from_display', value: 'Gemeinderat "Süd" & Co: 50%' });
    expect(actual.parsed[3]!.event.headers).toContainEqual({ name: 'Modesl-Reply-ERR', value: 'invalid session id [nope]' });
  });

  it('gives the same events when they arrive cut into pieces at any byte', () => {
    const bytes = Buffer.from(STREAM);
    const pieces = (size: number) => Array.from({ length: Math.ceil(bytes.length / size) }, (_, index) => bytes.subarray(index * size, (index + 1) * size));
    const expected = feed(untouchedParser(), [bytes]).parsed;

    for (const size of [1, 7, 1400]) expect(feed(TunedParser, pieces(size)).parsed).toEqual(expected);
  });

  it('keeps nothing of a received chunk once its events are out, and the start of an unfinished one', () => {
    const event = Buffer.from(withBody('Content-Type: text/event-json', JSON.stringify(channelFields())));
    const { parsed, parser } = feed(TunedParser, [event]);

    expect(parsed).toHaveLength(1);
    expect(parser.buffer.buffer.byteLength).toBe(0);

    const cut = 100;
    const { parsed: split, parser: waiting } = feed(TunedParser, [event.subarray(0, event.length - cut)]);
    expect(split).toHaveLength(0);
    (waiting as unknown as { _onData(data: Buffer): void })._onData(event.subarray(event.length - cut));
    expect(split).toHaveLength(1);
  });

  it('refuses to start on a drachtio-modesl whose Parser lacks a method the tuning replaces', () => {
    const upgraded = Object.create(untouchedParser().prototype as object) as Record<string, unknown>;
    expect(() => assertPatchable(upgraded)).not.toThrow();
    upgraded._parseEvent = undefined;

    expect(() => assertPatchable(upgraded)).toThrow(/Parser lacks _parseEvent: gateway\/esl-parser.ts was written for drachtio-modesl 1.3.1/);
  });

  it('is patched on the exact drachtio-modesl and drachtio-fsmrf versions package.json pins', () => {
    const manifest = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as { version: string; dependencies: Record<string, string> };
    const pinned = manifest(join(__dirname, '../../package.json')).dependencies;
    const installed = (name: string) => manifest(require.resolve(`${name}/package.json`)).version;

    expect(pinned['drachtio-modesl']).toBe(installed('drachtio-modesl'));
    expect(pinned['drachtio-fsmrf']).toBe(installed('drachtio-fsmrf'));
  });

  it('is the parser drachtio-fsmrf uses: both resolve the same drachtio-modesl', () => {
    const fromFsmrf = require.resolve('drachtio-modesl', { paths: [dirname(require.resolve('drachtio-fsmrf'))] });

    expect(fromFsmrf).toBe(require.resolve('drachtio-modesl'));
  });
});
