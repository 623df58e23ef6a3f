import { Writable } from 'node:stream';
import { createLogger } from '../../core/logger';

/**
 * SPEC §5: no PIN, password, token or full caller number in any log line, at the top of a log
 * object or one level down (a call's fields, a request's body), nor the credentials of an HTTP
 * exchange. Each secret is listed here on its own, so that dropping any path from the logger's
 * list fails a test.
 */
function captured(): { lines: () => string; logger: ReturnType<typeof createLogger> } {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { lines: () => text, logger: createLogger('info', destination) };
}

const SECRET = 'S3cr3t-48213769';

describe('the log redacts secrets', () => {
  it.each([
    ['a PIN', { pin: SECRET }],
    ['a PIN in an object', { created: { pin: SECRET } }],
    ['a password', { password: SECRET }],
    ['a room password in an object', { room: { password: SECRET } }],
    ['a token', { token: SECRET }],
    ['a token in an object', { session: { token: SECRET } }],
    ['a secret', { secret: SECRET }],
    ['a secret in an object', { trunk: { secret: SECRET } }],
    ['typed digits', { digits: SECRET }],
    ['typed digits in an object', { entry: { digits: SECRET } }],
    ['a caller number', { callerNumber: SECRET }],
    ['a caller number in an object', { call: { callerNumber: SECRET } }],
    ['an Authorization header', { req: { headers: { authorization: `Bearer ${SECRET}` } } }],
    ['a Cookie header', { req: { headers: { cookie: `dialin_session=${SECRET}` } } }],
    ['a Set-Cookie header', { res: { headers: { 'set-cookie': `dialin_session=${SECRET}; HttpOnly` } } }],
  ])('%s', (_what, fields) => {
    const { lines, logger } = captured();
    logger.info(fields, 'something happened');
    expect(lines()).not.toContain(SECRET);
    expect(lines()).toContain('"[redacted]"');
    expect(lines()).toContain('something happened');
  });

  it('keeps what is no secret', () => {
    const { lines, logger } = captured();
    logger.info({ room: 'gemeinderat', call: { id: 'c1', caller: 'Telefon …34' } }, 'caller is in the conference');
    expect(JSON.parse(lines())).toMatchObject({ room: 'gemeinderat', call: { id: 'c1', caller: 'Telefon …34' } });
  });
});
