// The simulator host: virtual clock (order, 32-bit wrap, deferral), in-memory network, and each
// injected fault. Every test here fails if the behaviour it names breaks.
import { describe, expect, it } from 'vitest';
import { SimHost, SimNetwork, VirtualClock } from '../hosts/sim/index.js';
import type { SimLink, SimPeer } from '../hosts/sim/index.js';
import type { Link, LinkEvents, Target } from '../src/host.js';
import { hex, toHex } from './helpers.js';

const BROKER: Target = { host: 'broker', port: 1883 };

/** LinkEvents that log what arrives, with nowMs, and whether it came inside a caller's call. */
function recorder(clock: VirtualClock) {
  const log: string[] = [];
  const times: number[] = [];
  let inside = false; // set around open/write/close: an event then would break the Host contract
  const events: LinkEvents = {
    onOpen: () => note('open'),
    onData: (b, o, l) => (note('data ' + toHex(b, o, o + l)), l),
    onWritable: () => note('writable'),
    onClose: (reason) => note('close ' + reason),
  };
  function note(s: string): void {
    if (inside) throw new Error('event inside a call: ' + s);
    log.push(s);
    times.push(clock.nowMs());
  }
  const guard = <T>(fn: () => T): T => {
    inside = true;
    try {
      return fn();
    } finally {
      inside = false;
    }
  };
  return { log, times, events, guard, closes: () => log.filter((s) => s.startsWith('close')).length };
}

/** A clock, a network with a listener on BROKER, a host, and the peers it accepted. */
function setup(start = 0) {
  const clock = new VirtualClock(start);
  const network = new SimNetwork(clock);
  const host = new SimHost(clock, network, 42);
  const peers: SimPeer[] = [];
  const peerLog: string[] = [];
  network.listen(BROKER.host, BROKER.port, (peer) => {
    peers.push(peer);
    peer.onData = (b) => peerLog.push('data ' + toHex(b));
    peer.onClose = (r) => peerLog.push('close ' + r);
  });
  const rec = recorder(clock);
  return { clock, network, host, peers, peerLog, rec };
}

/** Opens a link to BROKER and runs it until the client has seen onOpen. */
function connected(start = 0) {
  const s = setup(start);
  const link: Link = s.rec.guard(() => s.host.open(BROKER, s.rec.events));
  s.clock.flush();
  expect(s.rec.log).toEqual(['open']);
  s.rec.log.length = 0;
  s.rec.times.length = 0;
  const sim: SimLink = s.network.links.at(-1)!;
  return { ...s, link, sim, peer: s.peers[0] };
}

function write(link: Link, bytes: Uint8Array): boolean {
  return link.write(bytes, 0, bytes.length);
}

describe('VirtualClock', () => {
  it('fires timers in deadline order, ties in creation order, across the 32-bit wrap', () => {
    const clock = new VirtualClock(0xffff_f000);
    const seen: [string, number][] = [];
    const at = (name: string, ms: number) => clock.setTimer(() => seen.push([name, clock.nowMs()]), ms);
    at('e', 9999);
    at('c', 4096); // exactly 2^32: nowMs() reads 0
    at('b', 4095);
    at('c2', 4096); // same deadline as c, created later
    at('a', 100);
    at('d', 5000);
    at('late', 10_001);
    clock.advance(10_000);
    expect(seen.map((s) => s[0])).toEqual(['a', 'b', 'c', 'c2', 'd', 'e']);
    expect(seen.map((s) => s[1])).toEqual([0xffff_f064, 0xffff_ffff, 0, 0, 904, 5903]);
    // Wrapped, yet increasing mod 2^32 by the deadline gaps (wrap-safe elapsed time).
    const gaps = seen.slice(1).map((s, i) => (s[1] - seen[i][1]) >>> 0);
    expect(gaps).toEqual([3995, 1, 0, 904, 4999]);
    expect(clock.nowMs()).toBe(5904); // (0xFFFFF000 + 10000) mod 2^32
    expect(clock.timeMs).toBe(0xffff_f000 + 10_000);
    expect(clock.pending()).toBe(1);
    clock.advance(1);
    expect(seen.at(-1)).toEqual(['late', 5905]);
  });

  it('fires a timer due exactly at the end of the span, not one a tick later', () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    clock.setTimer(() => seen.push('10'), 10);
    clock.setTimer(() => seen.push('11'), 11);
    clock.advance(10);
    expect(seen).toEqual(['10']);
    clock.advance(1);
    expect(seen).toEqual(['10', '11']);
  });

  it('clearTimer cancels; clearing twice, late or with junk is harmless', () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    const a = clock.setTimer(() => seen.push('a'), 5);
    const b = clock.setTimer(() => seen.push('b'), 5);
    clock.setTimer(() => clock.clearTimer(b), 1); // cleared from inside another timer
    clock.clearTimer(a);
    clock.clearTimer(a);
    clock.clearTimer(undefined);
    clock.clearTimer(7);
    expect(clock.pending()).toBe(2);
    clock.advance(10);
    expect(seen).toEqual([]);
    expect(clock.pending()).toBe(0);
    const c = clock.setTimer(() => seen.push('c'), 1);
    clock.advance(1);
    clock.clearTimer(c); // already fired
    expect(seen).toEqual(['c']);
  });

  it('fires timers set by timers when they fall due within the span', () => {
    const clock = new VirtualClock();
    const seen: [string, number][] = [];
    const mark = (name: string) => seen.push([name, clock.nowMs()]);
    clock.setTimer(() => {
      mark('a');
      clock.setTimer(() => mark('a+0'), 0);
      clock.setTimer(() => {
        mark('a+20');
        clock.setTimer(() => mark('a+20+30'), 30); // at 60: beyond the span
      }, 20);
    }, 10);
    clock.setTimer(() => mark('b'), 25);
    clock.advance(50);
    expect(seen).toEqual([
      ['a', 10],
      ['a+0', 10],
      ['b', 25],
      ['a+20', 30],
    ]);
    expect(clock.nowMs()).toBe(50);
    clock.advance(10);
    expect(seen.at(-1)).toEqual(['a+20+30', 60]);
  });

  it('defer runs later, FIFO, never inside the caller; before timers and after each timer', () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    let depth = 0;
    const call = () => {
      depth++;
      clock.defer(() => seen.push('deferred at depth ' + depth));
      depth--;
    };
    call();
    expect(seen).toEqual([]);
    expect(clock.deferred()).toBe(1);
    clock.defer(() => {
      seen.push('second');
      clock.defer(() => seen.push('queued by second')); // runs in the same flush, after the rest
    });
    clock.defer(() => seen.push('third'));
    clock.flush();
    expect(seen).toEqual(['deferred at depth 0', 'second', 'third', 'queued by second']);

    seen.length = 0;
    clock.setTimer(() => {
      seen.push('timer A');
      clock.defer(() => seen.push('deferred by A'));
    }, 5);
    clock.setTimer(() => seen.push('timer B'), 5); // same instant: A's deferral still runs first
    clock.defer(() => seen.push('deferred before'));
    clock.advance(5);
    expect(seen).toEqual(['deferred before', 'timer A', 'deferred by A', 'timer B']);
  });

  it('flush runs 0 ms timers and deferrals until quiet; runDeferred runs no timers', () => {
    const clock = new VirtualClock(100);
    const seen: string[] = [];
    clock.setTimer(() => {
      seen.push('t0');
      clock.defer(() => clock.setTimer(() => seen.push('t0 again'), 0));
    }, 0);
    clock.defer(() => seen.push('d'));
    clock.runDeferred();
    expect(seen).toEqual(['d']);
    clock.flush();
    expect(seen).toEqual(['d', 't0', 't0 again']);
    expect(clock.nowMs()).toBe(100);
  });

  it('throws on a defer loop and on advancing from inside a callback', () => {
    const clock = new VirtualClock();
    clock.maxSteps = 1000;
    const loop = (): void => clock.defer(loop);
    clock.defer(loop);
    expect(() => clock.flush()).toThrow(/more than 1000 callbacks/);

    const c2 = new VirtualClock();
    let error: unknown;
    c2.setTimer(() => {
      try {
        c2.advance(1);
      } catch (e) {
        error = e;
      }
    }, 1);
    c2.advance(1);
    expect(String(error)).toMatch(/inside a callback/);
    expect(() => c2.advance(-1)).toThrow(RangeError);
  });
});

describe('SimNetwork + SimHost: links', () => {
  it('open to nobody closes "refused", later, once', () => {
    const { clock, host, rec } = setup();
    rec.guard(() => host.open({ host: 'nobody', port: 1 }, rec.events));
    expect(rec.log).toEqual([]);
    clock.flush();
    expect(rec.log).toEqual(['close refused']);
    clock.advance(60_000);
    expect(rec.log).toEqual(['close refused']);
  });

  it('refuse() refuses a listened target until turned off; unlisten refuses new opens', () => {
    const { clock, host, network, rec, peers } = setup();
    network.refuse(BROKER.host, BROKER.port, true);
    host.open(BROKER, rec.events);
    clock.flush();
    expect(rec.log).toEqual(['close refused']);
    expect(peers).toHaveLength(0);
    network.refuse(BROKER.host, BROKER.port, false);
    host.open(BROKER, rec.events);
    clock.flush();
    expect(rec.log).toEqual(['close refused', 'open']);
    network.unlisten(BROKER.host, BROKER.port);
    host.open(BROKER, rec.events);
    clock.flush();
    expect(rec.log).toEqual(['close refused', 'open', 'close refused']);
    expect(network.links).toHaveLength(3);
    expect(network.links[1].state).toBe('open'); // unlisten leaves open links up
  });

  it('carries bytes both ways, in order, after onOpen; the server accepts before the client hears onOpen', () => {
    const { clock, host, network, rec } = setup();
    const order: string[] = [];
    network.listen('b2', 1, (peer) => {
      order.push('accept:' + rec.log.length);
      peer.write(hex('20 02 00 00')); // written on accept: still arrives after onOpen
      peer.onData = (b) => order.push('server got ' + toHex(b));
    });
    const link = host.open({ host: 'b2', port: 1 }, rec.events);
    clock.flush();
    expect(order).toEqual(['accept:0']);
    expect(rec.log).toEqual(['open', 'data 20020000']);
    expect(rec.guard(() => write(link, hex('c0 00')))).toBe(true);
    expect(rec.guard(() => link.write(hex('ff 30 01 ff'), 1, 2))).toBe(true);
    expect(order).toHaveLength(1); // nothing inside write
    clock.flush();
    expect(order).toEqual(['accept:0', 'server got c000', 'server got 3001']);
    const peer = network.links[0].peer!;
    expect(toHex(peer.received)).toBe('c0003001');
    peer.write(hex('d0 00'));
    peer.write(hex('30 00'));
    clock.flush();
    expect(rec.log).toEqual(['open', 'data 20020000', 'data d000', 'data 3000']);
  });

  it('write copies: changing the caller\'s buffer afterwards changes nothing delivered', () => {
    const { clock, link, peer, rec } = connected();
    const buf = hex('10 20 30 40');
    expect(write(link, buf)).toBe(true);
    buf.fill(0xee);
    link.write(buf, 0, 2);
    buf.fill(0x11);
    const out = hex('aa bb');
    peer.write(out);
    out.fill(0);
    clock.flush();
    expect(toHex(peer.received)).toBe('10203040eeee');
    expect(rec.log).toEqual(['data aabb']);
  });

  it('many writes across the reusable buffer keep every byte, in order', () => {
    const { clock, link, peer } = connected();
    const expected: number[] = [];
    const buf = new Uint8Array(300);
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 3; k++) {
        const n = 1 + ((round * 37 + k * 101) % 300);
        for (let i = 0; i < n; i++) buf[i] = (round * 7 + k * 13 + i) & 0xff;
        link.write(buf, 0, n);
        for (let i = 0; i < n; i++) expected.push(buf[i]);
      }
      if (round % 3 === 0) clock.flush(); // sometimes let the pipe drain, sometimes let it grow
    }
    clock.flush();
    expect(Array.from(peer.received)).toEqual(expected);
  });

  it('a client that closes after the accept but before its onOpen never hears onOpen', () => {
    const { clock, host, network, rec } = setup();
    const peerLog: string[] = [];
    let link: Link | null = null;
    network.listen('b3', 1, (peer) => {
      peer.onClose = (r) => peerLog.push('close ' + r);
      link!.close(); // e.g. the client's open timeout fired at this very instant
    });
    link = host.open({ host: 'b3', port: 1 }, rec.events);
    clock.flush();
    expect(rec.log).toEqual(['close closed']);
    expect(peerLog).toEqual(['close closed']);
  });

  it('the bytes an onData is given stay intact while the callback writes more the same way', () => {
    const { clock, peer, rec } = connected();
    const a = new Uint8Array(200).map((_, i) => i);
    const seen: string[] = [];
    (rec.events as { onData: LinkEvents['onData'] }).onData = (b, o, l) => {
      if (l === 200) peer.write(new Uint8Array(100).fill(0xee)); // would compact the pipe over b
      seen.push(toHex(b, o, o + l));
      return l;
    };
    peer.write(a);
    peer.write(new Uint8Array(50).fill(0x55));
    clock.flush();
    expect(seen).toEqual([toHex(a), '55'.repeat(50), 'ee'.repeat(100)]);
  });

  it('close(): the server gets the bytes written before it, then onClose; the client one onClose("closed")', () => {
    const { clock, link, peerLog, rec } = connected();
    write(link, hex('e0 00')); // DISCONNECT, then close at once
    rec.guard(() => link.close());
    rec.guard(() => link.close()); // twice: still one onClose
    expect(rec.log).toEqual([]);
    expect(write(link, hex('00'))).toBe(false);
    clock.advance(1000);
    expect(peerLog).toEqual(['data e000', 'close closed']);
    expect(rec.log).toEqual(['close closed']);
  });

  it('peer.close(): the client gets the bytes written before it, then onClose("closed")', () => {
    const { clock, link, peer, peerLog, rec, sim } = connected();
    peer.write(hex('20 02 00 05'));
    peer.close();
    expect(write(link, hex('c0 00'))).toBe(true); // the FIN has not reached the client yet
    clock.flush();
    expect(rec.log).toEqual(['data 20020005', 'close closed']);
    expect(peerLog).toEqual(['close closed']); // and the late bytes vanished
    expect(sim.state).toBe('closed');
    expect(peer.write(hex('00'))).toBe(false);
  });

  it('exactly one onClose per end, whatever the path', () => {
    type Path = (s: ReturnType<typeof connected>) => void;
    const paths: Record<string, Path> = {
      'client close': (s) => s.link.close(),
      'server close': (s) => s.peer.close(),
      'both close at once': (s) => {
        s.link.close();
        s.peer.close();
      },
      'both, server first': (s) => {
        s.peer.close();
        s.link.close();
      },
      reset: (s) => s.sim.reset(),
      'server close then reset': (s) => {
        s.peer.close();
        s.sim.reset();
      },
      'client close then reset': (s) => {
        s.link.close();
        s.sim.reset();
      },
      'reset then closes': (s) => {
        s.sim.reset();
        s.link.close();
        s.peer.close();
      },
      'cut toClient': (s) => {
        s.sim.cutAfter(1, 'toClient');
        s.peer.write(hex('01 02'));
        s.link.close();
      },
      'cut toServer': (s) => {
        s.sim.cutAfter(1, 'toServer');
        write(s.link, hex('01 02'));
        s.peer.close();
      },
      'blackhole then client close': (s) => {
        s.sim.blackhole();
        s.link.close();
      },
    };
    for (const [name, path] of Object.entries(paths)) {
      const s = connected();
      s.rec.guard(() => path(s));
      s.clock.advance(10_000);
      s.link.close(); // after the onClose (or a blackhole): closing again changes nothing
      s.peer.close();
      s.clock.advance(10_000);
      expect(s.rec.closes(), name).toBe(1);
      expect(s.rec.log.at(-1), name).toMatch(/^close /);
      // The server end too (after a blackhole, only from its own close at the end).
      expect(s.peerLog.filter((l) => l.startsWith('close')), name).toHaveLength(1);
    }
    // Before the link opened: the close still comes once, and no onOpen after it.
    const s = setup();
    const link = s.host.open(BROKER, s.rec.events);
    link.close();
    link.close();
    s.clock.advance(1000);
    expect(s.rec.log).toEqual(['close closed']);
    expect(s.peers).toHaveLength(0);
  });
});

describe('faults', () => {
  for (const n of [1, 3, 5, 9, 10]) {
    it(`cutAfter(${n}, 'toClient'): the client sees exactly ${n} bytes, then onClose('reset')`, () => {
      const { clock, sim, peer, peerLog, rec } = connected();
      sim.cutAfter(n, 'toClient');
      peer.write(hex('30 08 00 01 61 68 65 6c 6c 6f')); // a 10-byte PUBLISH, then a PINGRESP
      peer.write(hex('d0 00'));
      clock.flush();
      const data = rec.log.filter((l) => l.startsWith('data')).map((l) => l.slice(5)).join('');
      expect(data).toBe('300800016168656c6c6f'.slice(0, 2 * n));
      expect(rec.log.at(-1)).toBe('close reset');
      expect(rec.closes()).toBe(1);
      expect(peerLog).toEqual(['close reset']);
    });
  }

  for (const n of [1, 2, 4, 6]) {
    it(`cutAfter(${n}, 'toServer'): the server gets exactly ${n} bytes, then both ends reset`, () => {
      const { clock, link, sim, peer, peerLog, rec } = connected();
      write(link, hex('aa')); // before the fault: does not count
      clock.flush();
      sim.cutAfter(n, 'toServer');
      write(link, hex('10 04 01 02'));
      write(link, hex('03 04 05'));
      clock.flush();
      expect(toHex(peer.received)).toBe(('aa' + '10040102030405').slice(0, 2 + 2 * n));
      expect(peerLog.at(-1)).toBe('close reset');
      expect(rec.log).toEqual(['close reset']);
      expect(write(link, hex('00'))).toBe(false);
    });
  }

  it('cutAfter at a write boundary dies right after that write; cutAfter(0) resets now', () => {
    const a = connected();
    a.sim.cutAfter(2, 'toClient');
    a.peer.write(hex('d0 00'));
    a.clock.flush();
    expect(a.rec.log).toEqual(['data d000', 'close reset']);

    const b = connected();
    b.peer.write(hex('d0 00'));
    b.sim.cutAfter(0, 'toServer');
    b.clock.flush();
    expect(b.rec.log).toEqual(['close reset']);
  });

  it('network.faults.cutAfter applies to links opened afterwards, counting from the open', () => {
    const { clock, host, network, rec, peers } = setup();
    network.faults = { cutAfter: { bytes: 3, direction: 'toClient' } };
    host.open(BROKER, rec.events);
    clock.flush();
    peers[0].write(hex('20 02 00 00'));
    clock.flush();
    expect(rec.log).toEqual(['open', 'data 200200', 'close reset']);
  });

  it('blackhole: nothing is delivered either way and nobody is told', () => {
    const { clock, link, sim, peer, peerLog, rec } = connected();
    peer.write(hex('d0 00')); // in flight when the wire goes dead: lost too
    sim.blackhole();
    expect(write(link, hex('c0 00'))).toBe(true);
    peer.write(hex('30 00'));
    peer.close(); // the FIN is lost as well
    clock.advance(3_600_000);
    expect(rec.log).toEqual([]);
    expect(peer.received).toHaveLength(0);
    expect(peerLog).toEqual(['close closed']); // only its own close
    expect(sim.state).toBe('open');
    expect(sim.inFlight('toServer')).toBe(2); // never acknowledged
  });

  it('a blackholed open never connects and never closes until the client gives up', () => {
    const { clock, host, network, rec, peers } = setup();
    network.faults = { blackhole: true };
    const link = host.open(BROKER, rec.events);
    clock.advance(600_000);
    expect(rec.log).toEqual([]);
    expect(peers).toHaveLength(0);
    link.close();
    clock.flush();
    expect(rec.log).toEqual(['close closed']);
  });

  it('dribble: one byte per onData, each in its own deferred delivery', () => {
    const { clock, host, sim, peer, rec } = connected();
    const log: string[] = [];
    sim.dribble(true);
    // Swap in a client that defers work from every onData: that work must run between bytes.
    (rec.events as { onData: LinkEvents['onData'] }).onData = (b, o, l) => {
      log.push(`${l}:${toHex(b, o, o + l)}`);
      host.defer(() => log.push('handler'));
      return l;
    };
    peer.write(hex('30 03 00 01 61'));
    peer.write(hex('c0'));
    clock.flush();
    expect(log).toEqual(['1:30', 'handler', '1:03', 'handler', '1:00', 'handler', '1:01', 'handler', '1:61', 'handler', '1:c0', 'handler']);
    sim.dribble(false);
    peer.write(hex('d0 00'));
    clock.flush();
    expect(log.at(-2)).toBe('2:d000');
  });

  it('delayMs: each delivery, either way, and the connection itself take that long', () => {
    const { clock, link, sim, peer, rec } = connected(0xffff_ff00);
    sim.delayMs(50);
    const got: number[] = [];
    peer.onData = () => got.push(clock.nowMs());
    clock.advance(10);
    peer.write(hex('d0 00'));
    write(link, hex('c0 00'));
    clock.advance(49);
    expect(rec.log).toEqual([]);
    expect(got).toEqual([]);
    clock.advance(1);
    expect(rec.log).toEqual(['data d000']);
    expect(rec.times).toEqual([(0xffff_ff00 + 60) >>> 0]);
    expect(got).toEqual([(0xffff_ff00 + 60) >>> 0]);

    // Shrinking the delay never lets a later write overtake an earlier one.
    peer.write(hex('01'));
    sim.delayMs(0);
    peer.write(hex('02'));
    clock.advance(50);
    expect(rec.log).toEqual(['data d000', 'data 01', 'data 02']);

    const s = setup();
    s.network.faults = { delayMs: 200 };
    s.host.open(BROKER, s.rec.events);
    s.clock.advance(199);
    expect(s.rec.log).toEqual([]);
    s.clock.advance(1);
    expect(s.rec.log).toEqual(['open']);
  });

  it('writeLimit: write returns false, taking nothing, until a delivery frees room; then onWritable', () => {
    const { clock, link, sim, peer, rec } = connected();
    sim.delayMs(100).writeLimit(10);
    expect(write(link, hex('01 02 03 04 05 06 07 08'))).toBe(true);
    expect(rec.guard(() => write(link, hex('09 0a 0b')))).toBe(false);
    expect(write(link, hex('09 0a'))).toBe(true); // exactly at the limit
    expect(write(link, hex('0b'))).toBe(false);
    expect(sim.inFlight('toServer')).toBe(10);
    clock.advance(99);
    expect(rec.log).toEqual([]);
    clock.advance(1);
    expect(rec.log).toEqual(['writable']);
    expect(toHex(peer.received)).toBe('0102030405060708090a'); // nothing of the refused writes
    // An empty link always takes a write, even one larger than the limit.
    clock.advance(100);
    expect(write(link, new Uint8Array(25))).toBe(true);
  });

  it('writeLimit on a blackholed link fills up: writes block, onWritable never comes', () => {
    const { clock, link, sim, rec } = connected();
    sim.blackhole().writeLimit(4);
    expect(write(link, hex('01 02 03'))).toBe(true);
    expect(write(link, hex('04 05'))).toBe(false);
    clock.advance(100_000);
    expect(rec.log).toEqual([]);
  });
});

describe('TLS and randomness', () => {
  it('never falls back: plain to a TLS listener and TLS to a plain listener both fail', () => {
    const { clock, host, network, rec, peers } = setup();
    const tlsPeers: SimPeer[] = [];
    network.listen('secure', 8883, (p) => tlsPeers.push(p), { tls: true });
    host.open({ host: 'secure', port: 8883 }, rec.events);
    host.open({ host: BROKER.host, port: BROKER.port, tls: {} }, rec.events);
    clock.flush();
    expect(rec.log).toEqual(['close tls required', 'close tls handshake failed']);
    expect(tlsPeers).toHaveLength(0);
    expect(peers).toHaveLength(0);
    host.open({ host: 'secure', port: 8883, tls: { servername: 'secure' } }, rec.events);
    clock.flush();
    expect(rec.log.at(-1)).toBe('open');
    expect(tlsPeers[0].tls).toBe(true);
  });

  it('verifyTls can fail a handshake (wrong CA)', () => {
    const { clock, host, network, rec } = setup();
    network.listen('secure', 8883, () => {}, { tls: true, verifyTls: (tls) => (tls.ca === 'good CA' ? undefined : 'certificate verify failed') });
    host.open({ host: 'secure', port: 8883, tls: { ca: 'other CA' } }, rec.events);
    host.open({ host: 'secure', port: 8883, tls: { ca: 'good CA' } }, rec.events);
    clock.flush();
    expect(rec.log).toEqual(['close certificate verify failed', 'open']);
  });

  it('random() is deterministic for a seed, differs across seeds, and stays in [0, 1)', () => {
    const clock = new VirtualClock();
    const network = new SimNetwork(clock);
    const draw = (seed: number) => {
      const h = new SimHost(clock, network, seed);
      return Array.from({ length: 1000 }, () => h.random());
    };
    const a = draw(7);
    expect(draw(7)).toEqual(a);
    expect(draw(8)).not.toEqual(a);
    expect(a.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(990);
    expect(() => new SimHost(new VirtualClock(), network)).toThrow(TypeError);
  });
});
