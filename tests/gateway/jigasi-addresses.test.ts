import pino from 'pino';
import { JigasiAddresses } from '../../gateway/jigasi-addresses';

/** Which INVITEs are Jigasi's own (Jitsi Meet's "invite by phone"), not a caller's. */
describe("Jigasi's addresses", () => {
  const log = pino({ level: 'silent' });

  it('knows the addresses the hosts of JIGASI_URIS resolve to, also as IPv4-mapped IPv6', async () => {
    const addresses = new JigasiAddresses(['sip:jigasi@jigasi.meet.example.org:5060', 'sip:10.0.0.7;transport=tcp'], log, async (host) =>
      host === 'jigasi.meet.example.org' ? ['172.18.0.5'] : [host],
    );
    expect(addresses.has('172.18.0.5')).toBe(false);
    await addresses.resolved();
    expect(['172.18.0.5', '::ffff:172.18.0.5', '10.0.0.7', '172.18.0.6'].map((address) => addresses.has(address))).toEqual([true, true, true, false]);
  });

  it("keeps a host's last addresses while its lookup fails, and takes new ones when it works again", async () => {
    let answer: string[] | Error = ['172.18.0.5'];
    const addresses = new JigasiAddresses(['sip:jigasi'], log, async () => {
      if (answer instanceof Error) throw answer;
      return answer;
    });
    await addresses.resolved();
    answer = new Error('getaddrinfo EAI_AGAIN jigasi');
    await addresses.resolved();
    expect(addresses.has('172.18.0.5')).toBe(true);
    answer = ['172.18.0.9'];
    await addresses.resolved();
    expect([addresses.has('172.18.0.5'), addresses.has('172.18.0.9')]).toEqual([false, true]);
  });
});
