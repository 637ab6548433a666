// A scripted MQTT broker on the simulated network, for tests: it splits what clients send into
// packets, logs them, and answers as the test sets it (CONNACK code and session-present per
// connection, PUBACKs and PINGRESPs on or off, closing right after CONNACK). Tests write anything
// else they want the client to see with send() or publish().
import { CONNECT, PINGREQ, PUBLISH, SUBSCRIBE, writePublish } from '../../src/index.js';
import type { SimNetwork, SimPeer } from './index.js';
/** A packet a client sent, split off by its fixed header (for scripted brokers in tests). */
export interface ClientPacket {
  type: number;
  flags: number;
  body: Uint8Array;
  /** PUBLISH: topic, packet id (0 for QoS 0), payload as text. SUBSCRIBE/UNSUBSCRIBE: packet id, filters. */
  topic?: string;
  id?: number;
  text?: string;
  filters?: string[];
}

/** Splits what a client sent into packets; returns them and the bytes left over (a partial packet). */
export function splitClientPackets(bytes: Uint8Array): { packets: ClientPacket[]; rest: Uint8Array } {
  const packets: ClientPacket[] = [];
  let p = 0;
  for (;;) {
    if (p + 2 > bytes.length) break;
    let rl = 0;
    let mult = 1;
    let q = p + 1;
    let done = false;
    while (q < bytes.length && q < p + 5) {
      const b = bytes[q++];
      rl += (b & 127) * mult;
      mult *= 128;
      if (!(b & 128)) {
        done = true;
        break;
      }
    }
    if (!done || q + rl > bytes.length) break;
    const type = bytes[p] >> 4;
    const flags = bytes[p] & 15;
    const body = bytes.slice(q, q + rl);
    const pk: ClientPacket = { type, flags, body };
    const u16 = (i: number) => (body[i] << 8) | body[i + 1];
    const td = new TextDecoder();
    if (type === 3) {
      const tl = u16(0);
      pk.topic = td.decode(body.subarray(2, 2 + tl));
      const qos = (flags >> 1) & 3;
      pk.id = qos ? u16(2 + tl) : 0;
      pk.text = td.decode(body.subarray(2 + tl + (qos ? 2 : 0)));
    } else if (type === 8 || type === 10) {
      pk.id = u16(0);
      pk.filters = [];
      for (let i = 2; i < body.length; ) {
        const n = u16(i);
        pk.filters.push(td.decode(body.subarray(i + 2, i + 2 + n)));
        i += 2 + n + (type === 8 ? 1 : 0);
      }
    } else if (type === 4) pk.id = u16(0);
    packets.push(pk);
    p = q + rl;
  }
  return { packets, rest: bytes.slice(p) };
}

/** A broker whose answers tests script: CONNACK code and session-present per connection, acks on or off. */
export class ScriptedBroker {
  peers: SimPeer[] = [];
  log: ClientPacket[] = []; // every packet from every connection, in order
  connack: () => [number, number] = () => [0, 0]; // [session present, return code]
  ackPublishes = true;
  ackSubscribes = true;
  answerPings = true;
  closeAfterConnack = false;
  private rest = new Map<SimPeer, Uint8Array>();

  constructor(network: SimNetwork, port = 1883) {
    network.listen('broker', port, (peer) => {
      this.peers.push(peer);
      peer.onData = (bytes) => this.data(peer, bytes);
    });
  }

  get peer(): SimPeer {
    return this.peers[this.peers.length - 1];
  }

  send(bytes: Uint8Array | number[]): void {
    this.peer.write(Uint8Array.from(bytes));
  }

  publish(topic: string, payload: string, qos: number, id = 0, dup = false): void {
    const b = new Uint8Array(512);
    this.send(b.slice(0, writePublish(b, 0, topic, payload, qos, false, dup, id)));
  }

  of(type: number): ClientPacket[] {
    return this.log.filter((p) => p.type === type);
  }

  private data(peer: SimPeer, bytes: Uint8Array): void {
    const prev = this.rest.get(peer) ?? new Uint8Array(0);
    const all = new Uint8Array(prev.length + bytes.length);
    all.set(prev);
    all.set(bytes, prev.length);
    const { packets, rest } = splitClientPackets(all);
    this.rest.set(peer, rest);
    for (const p of packets) {
      this.log.push(p);
      if (peer.closed) return;
      if (p.type === CONNECT) {
        const [sp, rc] = this.connack();
        peer.write(Uint8Array.from([0x20, 2, sp, rc]));
        if (rc || this.closeAfterConnack) peer.close();
      } else if (p.type === SUBSCRIBE && this.ackSubscribes) {
        // Grant what was asked: the QoS byte follows each filter.
        const granted: number[] = [];
        for (let i = 2; i < p.body.length; ) {
          const n = (p.body[i] << 8) | p.body[i + 1];
          granted.push(p.body[i + 2 + n]);
          i += 3 + n;
        }
        peer.write(Uint8Array.from([0x90, 2 + granted.length, p.id! >> 8, p.id! & 255, ...granted]));
      } else if (p.type === PUBLISH && p.id && this.ackPublishes) {
        peer.write(Uint8Array.from([0x40, 2, p.id >> 8, p.id & 255]));
      } else if (p.type === PINGREQ && this.answerPings) peer.write(Uint8Array.from([0xd0, 0]));
    }
  }
}
