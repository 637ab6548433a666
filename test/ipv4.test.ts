// hosts/moddable/ipv4.ts's isIPv4 against the regular expression it replaced, on seeded strings made
// of digits and dots (and a few other characters) and on the cases that matter by hand.
import { describe, expect, it } from 'vitest';
import { isIPv4 } from '../hosts/moddable/ipv4.js';

const ORACLE = /^((25[0-5]|(2[0-4]|1\d|[1-9]|)\d)(\.(?!$)|$)){4}$/;

describe('isIPv4', () => {
  it('takes dotted quads of 0–255 without leading zeros, and nothing else', () => {
    for (const ok of ['0.0.0.0', '127.0.0.1', '255.255.255.255', '192.168.1.10', '10.0.200.99']) expect(isIPv4(ok), ok).toBe(true);
    for (const no of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.04', '1..2.3', '.1.2.3', '1.2.3.4.', 'a.b.c.d', 'localhost', '1.2.3.4 ', '-1.2.3.4', '00.0.0.0', '1.2.3.999'])
      expect(isIPv4(no), no).toBe(false);
  });

  it('agrees with the regular expression it replaced on 200,000 seeded strings', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = '0123456789....25x ';
    for (let i = 0; i < 200_000; i++) {
      let s = '';
      const len = rnd(18);
      for (let k = 0; k < len; k++) s += alphabet[rnd(alphabet.length)];
      expect(isIPv4(s), JSON.stringify(s)).toBe(ORACLE.test(s));
      // and quads of numbers at the edges (0, 9/10, 99/100, 199/200, 249/250, 255/256, leading zeros)
      const edge = ['0', '00', '01', '9', '10', '99', '100', '199', '200', '249', '250', '255', '256', '260', '300', '999', '', 'x'];
      const q = Array.from({ length: 3 + rnd(3) }, () => edge[rnd(edge.length)]).join('.');
      expect(isIPv4(q), q).toBe(ORACLE.test(q));
    }
  });
});
