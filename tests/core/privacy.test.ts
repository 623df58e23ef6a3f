import { callerDigits, maskCallerNumber, redactUrl } from '../../core/privacy';

describe('caller numbers', () => {
  it.each([
    ['+49 4136 123456', '…56'],
    ['sip:+494136123434@trunk.example.org', '…34'],
    ['04136-1234', '…34'],
    ['anonymous', 'anonymous'],
    ['Restricted', 'anonymous'],
    ['', 'anonymous'],
    [undefined, 'anonymous'],
    [null, 'anonymous'],
    ['Unavailable', 'anonymous'],
    ['Max Mustermann', 'anonymous'],
  ])('%s is shown as %s', (number, masked) => {
    expect(maskCallerNumber(number)).toBe(masked);
  });

  it('keeps only digits for bucketing', () => {
    expect(callerDigits('+49 (4136) 12-34')).toBe('4941361234');
    expect(callerDigits('anonymous')).toBeUndefined();
  });
});

describe('URLs in logs', () => {
  it('hide PINs and tokens in query strings', () => {
    const logged = redactUrl('/conferenceMapper?id=48213769&x=1&token=abc.def');
    expect(logged).not.toContain('48213769');
    expect(logged).not.toContain('abc.def');
    expect(logged).toContain('x=1');
  });

  it.each(['id', 'pin', 'token', 'password', 'access_token', 'PIN', 'Access_Token'])('hide the value of %s, in any case', (name) => {
    const logged = redactUrl(`/x?${name}=S3cr3t&room=rat`);
    expect(logged).not.toContain('S3cr3t');
    expect(logged).toBe(`/x?${name}=%5Bredacted%5D&room=rat`);
  });

  it('leave URLs without secrets alone', () => {
    expect(redactUrl('/api/v1/rooms/rat')).toBe('/api/v1/rooms/rat');
  });
});
