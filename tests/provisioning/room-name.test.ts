import { normaliseRoomName, roomJid } from '../../provisioning/room-name';

const MUC = 'conference.meet.example.org';

describe('room names are normalised as Jitsi Meet does', () => {
  it.each([
    ['Ratssitzung', 'ratssitzung'],
    ['RatsSitzung@conference.meet.example.org', 'ratssitzung'],
    ['Bürgerforum', 'bürgerforum'],
    ['B%C3%BCrgerforum', 'bürgerforum'],
    ['ﬁnanzausschuss', 'finanzausschuss'],
    ['Ｓｐｏｒｔ-Verein_2', 'sport-verein_2'],
    ['a.b', 'a.b'],
    ['r'.repeat(128), 'r'.repeat(128)],
    // 128 characters of 4 bytes each (Han, Extension B): counted as characters, not UTF-16 units
    ['\u{20000}'.repeat(128), '\u{20000}'.repeat(128)],
    ['Рада', 'рада'],
    ['会議かいぎ', '会議かいぎ'],
    // each group of scripts one language writes together
    ['会議カイギ', '会議カイギ'],
    ['會議실', '會議실'],
    ['中文ㄅㄆ', '中文ㄅㄆ'],
    ['회의실', '회의실'],
    ['ሰላም', 'ሰላም'],
    ['கூட்டம்', 'கூட்டம்'],
  ])('%s → %s', (input, expected) => {
    expect(normaliseRoomName(input, MUC)).toEqual({ ok: true, room: expected });
  });

  it.each([
    ['a/b', 'invalid'],
    ['..', 'invalid'],
    ['a..b', 'invalid'],
    ['.hidden', 'invalid'],
    ['a%00b', 'invalid'],
    ['a\u0000b', 'invalid'],
    ['party🎉', 'invalid'],
    ['x'.repeat(500), 'invalid'],
    ['x'.repeat(129), 'invalid'],
    ['\u{20000}'.repeat(129), 'invalid'],
    ['a@b@conference.meet.example.org', 'invalid'],
    ['room with space', 'invalid'],
    ['', 'invalid'],
    ['@conference.meet.example.org', 'invalid'],
    ['room@conference.other.example.org', 'foreign-domain'],
    ['r\u0430t', 'invalid'],
    ['gemeinde\u034frat', 'invalid'],
    ['rat\ufe0f', 'invalid'],
    ['\u3164rat', 'invalid'],
    ['\u115frat', 'invalid'],
    ['rat\u200d', 'invalid'],
    ['\u03c1at', 'invalid'],
    ['東京tokyo', 'invalid'],
    ['ሰላምrat', 'invalid'],
    ['かいぎ회의', 'invalid'],
    ['ㄅㄆ회의', 'invalid'],
    ['բարեւ-ratssaal', 'invalid'],
    ['שלום-rat', 'invalid'],
  ])('%j is refused as %s', (input, problem) => {
    const result = normaliseRoomName(input, MUC);
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.problem).toBe(problem);
  });

  it('says why an empty name is refused', () => {
    expect(normaliseRoomName('', MUC)).toMatchObject({ ok: false, message: 'the room name is empty' });
  });

  it('encodes the MUC address the way Jitsi Meet names the room', () => {
    expect(roomJid('bürgerforum', MUC)).toBe('b%c3%bcrgerforum@conference.meet.example.org');
    expect(roomJid('rat-2026', MUC)).toBe('rat-2026@conference.meet.example.org');
  });
});
