// The session transcripts of test/session/transcripts.ts under vitest (V8): each incoming stream
// replayed whole, byte by byte and in random splits. The same cases run inside XS in test/xs.test.ts.
import { describe, expect, it } from 'vitest';
import { statusName } from '../src/index.js';
import { Session } from '../src/session/session.js';
import { hex, toHex } from './helpers.js';
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

describe('session, CONNACK without the session', () => {
  // Two QoS 2 messages past PUBREC (ids 1, 2) and a QoS 1 message sent once (id 3, DUP when resent),
  // then the link is lost: the next CONNACK, without the session, completes 1 and 2. `then(s, n)`
  // runs in the nth onPublished. What the session says and sends, in one log.
  function lost(then: (s: Session, n: number) => void) {
    const log: string[] = [];
    let n = 0;
    const s: Session = new Session({ ...base, clean: false }, {
      send: (b, o, l) => log.push('out ' + toHex(b, o, o + l)) > 0,
      onConnected: (p, k) => log.push(`connected ${p} ${k}`),
      onMessage: () => {},
      onPublished: (id) => {
        log.push('published ' + id);
        then(s, ++n);
      },
      onSubscribed: () => {},
      onUnsubscribed: () => {},
      onClose: (st) => log.push('close ' + statusName(st)),
    });
    const connack = () => s.receive(hex('20 02 00 00'), 0, 4, 0);
    s.start(0);
    connack();
    s.publish('a', 'x', 2, false, 0);
    s.publish('b', 'y', 2, false, 0);
    s.publish('c', 'z', 1, false, 0);
    s.receive(hex('50 02 0001 50 02 0002'), 0, 8, 0); // PUBREC 1, 2: PUBREL 1, 2
    s.linkLost();
    s.start(0);
    log.length = 0;
    connack();
    return { s, log, connack };
  }
  const C3 = 'out 320600016300037a'; // c, id 3, no DUP (32, not 3a)

  it('DUP cleared and onConnected first, then the completions: a publish() in onPublished goes after the resend, neither with DUP', () => {
    const { log } = lost((s, n) => {
      if (n === 1) s.publish('n', 'w', 1, false, 0);
    });
    expect(log).toEqual(['connected false false', 'published 1', C3, 'out 320600016e000477', 'published 2']);
  });

  it('disconnect() from onPublished: nothing more is reported or sent; the next CONNACK completes the rest', () => {
    const { s, log, connack } = lost((s, n) => {
      if (n === 1) s.disconnect(0);
    });
    expect([log, s.queued]).toEqual([['connected false false', 'published 1', 'out e000'], 2]);
    s.start(0);
    log.length = 0;
    connack();
    expect([log, s.queued]).toEqual([['connected false false', 'published 2', C3], 1]);
  });
});
