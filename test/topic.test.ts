// Topic filter matching on bytes [MQTT-4.7], with the spec's own examples, checked against a
// straightforward string reference implementation on random topics.
import { describe, expect, it } from 'vitest';
import { Decoder, EV_PACKET, matchTopic, topicBytes, validateFilter, validateTopic, writePublish } from '../src/index.js';
import { rng } from './helpers.js';

const enc = new TextEncoder();
function match(filter: string, topic: string): boolean {
  const f = enc.encode(' ' + filter + ' '); // padded: offsets must be honoured, not assumed 0
  const t = enc.encode('  ' + topic + ' ');
  return matchTopic(f, 1, f.length - 1, t, 2, t.length - 1);
}

/** The reference: split on '/', level by level. */
function reference(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

describe('matchTopic', () => {
  it.each([
    // [MQTT-4.7.1-2] '#': "sport/tennis/player1/#"
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['#', 'a/b/c', true],
    ['#', '/', true],
    // [MQTT-4.7.1-3] '+'
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player2', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['+', 'a', true],
    ['a/+/c', 'a//c', true],
    ['+/b', 'a/b', true],
    // Exact and near misses
    ['a/b', 'a/b', true],
    ['a/b', 'a/bc', false],
    ['a/bc', 'a/b', false],
    ['a/b', 'a', false],
    ['a', 'a/b', false],
    ['a/b/#', 'a/b', true],
    ['a/b/#', 'a/bx', false],
    ['a/b/#', 'a', false],
    // [MQTT-4.7.2-1] '$' topics are not matched by a leading wildcard
    ['#', '$SYS/broker/load', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['a/#', 'a/$b', true],
    // Case and UTF-8
    ['ACCOUNTS', 'Accounts', false],
    ['é/+', 'é/😀', true],
    ['+/😀', 'é/😀', true],
  ])('%j vs %j → %s', (filter, topic, want) => {
    expect(match(filter, topic)).toBe(want);
    expect(reference(filter, topic)).toBe(want);
  });

  it('agrees with the reference on 20,000 random filter/topic pairs', () => {
    const r = rng(4711);
    const levels = ['a', 'b', '', 'ab', '$x', 'é'];
    const pick = <T,>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    let matches = 0;
    for (let i = 0; i < 20000; i++) {
      const tl = Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(levels));
      const topic = tl.join('/') || 'a';
      const fl = Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick([...levels, '+', '+']));
      if (r() < 0.3) fl.push('#');
      const filter = fl.join('/') || '+';
      validateFilter(filter);
      validateTopic(topic);
      const want = reference(filter, topic);
      if (want) matches++;
      expect(match(filter, topic), `${filter} vs ${topic}`).toBe(want);
    }
    expect(matches).toBeGreaterThan(1000); // the generator exercises both outcomes
  });
});

describe('validateFilter / validateTopic', () => {
  it.each(['a/#/b', 'a#', 'a+/b', '', 'a/+b', '#a', 'a\u0000', '\uD800'])('filter %j is refused', (f) => {
    expect(() => validateFilter(f)).toThrow(TypeError);
  });
  it.each(['#', '+', '+/+/#', 'a/b', '/', '$SYS/#', 'é/😀'])('filter %j is accepted', (f) => {
    expect(() => validateFilter(f)).not.toThrow();
  });
  it.each(['', 'a/+', '#', 'a\u0000', '\uDC00'])('topic %j is refused', (t) => {
    expect(() => validateTopic(t)).toThrow(TypeError);
  });
});

describe('topicBytes', () => {
  it('gives the UTF-8 of a topic, which publishes exactly as the string does', () => {
    const b = topicBytes('devices/é/😀/t');
    expect(Array.from(b)).toEqual(Array.from(new TextEncoder().encode('devices/é/😀/t')));
    const a = new Uint8Array(64);
    const c = new Uint8Array(64);
    const n = writePublish(a, 0, 'devices/é/😀/t', 'x', 1, false, false, 5);
    expect(writePublish(c, 0, b, 'x', 1, false, false, 5)).toBe(n);
    expect(c).toEqual(a);
    const d = new Decoder(64);
    d.awaitingConnack = false;
    expect(d.push(c, 0, n)).toBe(EV_PACKET);
  });

  it('refuses what is not a topic name, as validateTopic does', () => {
    for (const bad of ['', 'a/+', 'a/#', 'a\u0000b', 'x\ud800']) expect(() => topicBytes(bad), JSON.stringify(bad)).toThrow(TypeError);
  });
});
