// The session transcripts of test/session/transcripts.ts under vitest (V8): each incoming stream
// replayed whole, byte by byte and in random splits. The same cases run inside XS in test/xs.test.ts.
import { describe, expect, it } from 'vitest';
import { TRANSCRIPTS, base, case39, connected, feedingsOf, randomMix, run } from './session/transcripts.js';

describe('session transcripts', () => {
  it('there are transcripts to run', () => expect(TRANSCRIPTS.length).toBeGreaterThan(25));
  for (const c of TRANSCRIPTS) {
    describe(c.name, () => {
      for (const [how, sizes] of feedingsOf(c)) it(how, () => void run(c.opts, c.steps, sizes, c.startMs));
    });
  }
});

describe('session, at scale', () => {
  it('a SUBSCRIBE refused for a bad filter (thrown) costs no packet id: 70,000 of them, then one that goes', () => {
    const t = run(base, connected, () => () => 1 << 30);
    for (let i = 0; i < 70000; i++) expect(() => t.s.subscribe(['a/#/b'], [1], t.now)).toThrow(TypeError);
    expect(t.s.subscribe(['a/#'], [1], t.now)).toBeGreaterThan(0);
  });

  it('case 39: 1000 QoS 1 PUBLISH in one segment: all delivered, 1000 PUBACKs in order', () => {
    expect(case39()).toBe(3);
  });

  it('0 QoS 1 or 2 messages lost over a random mix of publishes, drops, reconnects (kept or not) and acks', () => {
    expect(randomMix()).toBeGreaterThan(500);
  });
});
