import { customPinProblem, generatePin, isTrivialPin } from '../../provisioning/pin-rules';

describe('trivial PINs', () => {
  it.each(['000000', '111111111', '123456', '7890123', '987654', '3210987', '121212', '12341234', '456456'])(
    '%s is trivial',
    (pin) => expect(isTrivialPin(pin)).toBe(true),
  );

  it.each(['971540', '48213769', '102938', '12345677', '90817263'])('%s is not trivial', (pin) => {
    expect(isTrivialPin(pin)).toBe(false);
  });
});

describe('generated PINs', () => {
  it('have the requested length and never start with 0', () => {
    for (const length of [6, 8, 12]) {
      for (let i = 0; i < 200; i++) {
        const pin = generatePin(length);
        expect(pin).toMatch(new RegExp(`^[1-9]\\d{${length - 1}}$`));
      }
    }
  });

  it('draw again instead of returning a trivial PIN', () => {
    const draws = [1, 1, 1, 1, 1, 1, /* then */ 4, 8, 2, 1, 3, 7];
    const pin = generatePin(6, () => draws.shift()!);
    expect(pin).toBe('482137');
  });
});

describe('custom PINs from an administrator', () => {
  it.each([
    ['000000', 'leading-zero'],
    ['123456', 'trivial'],
    ['12345678901234', 'format'],
    ['12ab56', 'format'],
    ['12345', 'format'],
    ['０１２３４５', 'format'],
    ['482137', undefined],
    ['482130', undefined],
    ['048213', 'leading-zero'],
    ['482137590214', undefined],
  ])('%s → %s', (pin, problem) => {
    expect(customPinProblem(pin)).toBe(problem);
  });
});
