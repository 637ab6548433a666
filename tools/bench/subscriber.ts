// The one subscriber every run uses, whichever client publishes: a worker thread (its own event
// loop, its own heap) with a raw socket, pre-encoded CONNECT and SUBSCRIBE, and a minimal streaming
// parser that counts PUBLISH packets by the sequence number in their payload, records arrival times
// and, on a QoS 1 subscription, answers every PUBLISH with a PUBACK (one write per received chunk).
// It is the same code for all three publishers, so it is not what is measured; it is kept cheap so
// that it is not what limits them either.
import { connect, type Socket } from 'node:net';
import { parentPort } from 'node:worker_threads';
import { connectFrame, subscribeFrame, DISCONNECT, SEQ_OFFSET, TS_OFFSET } from './frames.js';

/** main → worker */
export interface SubStart {
  type: 'start';
  port: number;
  topic: string;
  qos: number;
  /** Messages the publisher will send, sequence numbers 0 … n-1. */
  n: number;
  /** Record per-message latency (the payload's publish time → the arrival of the chunk holding it). */
  latency: boolean;
  clientId: string;
}
/** main → worker: the publisher is done (all written, or all acknowledged); drain, then report. */
export interface SubPublished {
  type: 'published';
  /** Wait at most this long after the last arrival for the messages still missing. */
  graceMs: number;
}
/** worker → main */
export type SubReply =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'result'; result: SubResult };

export interface SubResult {
  received: number; // distinct sequence numbers 0 … n-1 seen
  duplicates: number; // seen again (a QoS 1 resend) or out of range
  lost: number; // n - received, after the grace period
  firstNs: bigint; // process.hrtime.bigint() at the first and last arrival (0n: none)
  lastNs: bigint;
  latencies: Float64Array | null; // ms, one per received message (latency runs)
}

const port = parentPort;
if (!port) throw new Error('tools/bench/subscriber: run as a worker thread');

let run: Run | null = null;

port.on('message', (m: SubStart | SubPublished) => {
  if (m.type === 'start') {
    if (run) run.abort('a run was started while another was in progress');
    run = new Run(m);
  } else if (m.type === 'published') run?.published(m.graceMs);
});

function send(reply: SubReply): void {
  port!.postMessage(reply);
}

class Run {
  private readonly o: SubStart;
  private readonly sock: Socket;
  private readonly seen: Uint8Array;
  private readonly lat: Float64Array | null;
  private received = 0;
  private duplicates = 0;
  private firstNs = 0n;
  private lastNs = 0n;
  private carry: Buffer | null = null;
  private state = 0; // 0: CONNACK awaited, 1: SUBACK awaited, 2: subscribed
  private publishedAt = 0n; // when told the publisher is done
  private graceNs = 0n;
  private timer: ReturnType<typeof setInterval> | null = null;
  private done = false;
  private readonly ackIds: Uint16Array = new Uint16Array(8192);

  constructor(o: SubStart) {
    this.o = o;
    this.seen = new Uint8Array(o.n);
    this.lat = o.latency ? new Float64Array(o.n) : null;
    this.sock = connect({ host: '127.0.0.1', port: o.port, noDelay: true });
    this.sock.on('connect', () => this.sock.write(connectFrame(o.clientId, 0)));
    this.sock.on('data', (b: Buffer) => this.onData(b));
    this.sock.on('error', (e) => this.abort(`subscriber socket: ${e.message}`));
    this.sock.on('close', () => {
      if (!this.done) this.abort('subscriber socket closed by the broker');
    });
  }

  published(graceMs: number): void {
    this.publishedAt = process.hrtime.bigint();
    this.graceNs = BigInt(Math.round(graceMs * 1e6));
    if (this.check()) return;
    this.timer = setInterval(() => this.check(), 20);
  }

  /** Reports once every message arrived, or when nothing arrived for the grace period. */
  private check(): boolean {
    if (this.done || !this.publishedAt) return this.done;
    const since = this.lastNs > this.publishedAt ? this.lastNs : this.publishedAt;
    if (this.received < this.o.n && process.hrtime.bigint() - since < this.graceNs) return false;
    this.finish();
    return true;
  }

  private finish(): void {
    this.done = true;
    if (this.timer) clearInterval(this.timer);
    this.sock.end(DISCONNECT);
    let latencies: Float64Array | null = null;
    if (this.lat) {
      latencies = new Float64Array(this.received);
      let k = 0;
      for (let i = 0; i < this.o.n; i++) if (this.seen[i]) latencies[k++] = this.lat[i];
    }
    const result: SubResult = {
      received: this.received,
      duplicates: this.duplicates,
      lost: this.o.n - this.received,
      firstNs: this.firstNs,
      lastNs: this.lastNs,
      latencies,
    };
    run = null;
    send({ type: 'result', result });
  }

  abort(message: string): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearInterval(this.timer);
    this.sock.destroy();
    run = null;
    send({ type: 'error', message });
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    const now = process.hrtime.bigint();
    const nowMs = this.lat ? Number(now) / 1e6 : 0;
    let buf = chunk;
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    const len = buf.length;
    const seen = this.seen;
    const n = this.o.n;
    let acks = 0;
    let got = 0;
    let pos = 0;
    while (pos + 2 <= len) {
      const h = buf[pos];
      // Remaining length: up to 4 bytes.
      let rl = 0;
      let mul = 1;
      let p = pos + 1;
      let complete = false;
      while (p < len && p < pos + 5) {
        const b = buf[p++];
        rl += (b & 127) * mul;
        mul *= 128;
        if (b < 128) {
          complete = true;
          break;
        }
      }
      if (!complete || p + rl > len) break; // the rest of this packet comes in a later chunk
      const type = h >> 4;
      if (type === 3) {
        const qos = (h >> 1) & 3;
        let q = p + 2 + ((buf[p] << 8) | buf[p + 1]);
        if (qos) {
          if (acks === this.ackIds.length) {
            this.flushAcks(acks);
            acks = 0;
          }
          this.ackIds[acks++] = (buf[q] << 8) | buf[q + 1];
          q += 2;
        }
        const seq = buf.readUInt32LE(q + SEQ_OFFSET);
        if (seq < n && !seen[seq]) {
          seen[seq] = 1;
          this.received++;
          got++;
          if (this.lat) this.lat[seq] = nowMs - buf.readDoubleLE(q + TS_OFFSET);
        } else this.duplicates++;
      } else if (type === 2 && this.state === 0) {
        if (buf[p + 1] !== 0) return this.abort(`CONNACK refused: ${buf[p + 1]}`);
        this.state = 1;
        this.sock.write(subscribeFrame(1, this.o.topic, this.o.qos));
      } else if (type === 9 && this.state === 1) {
        if (buf[p + 2] !== this.o.qos) return this.abort(`SUBACK granted ${buf[p + 2]}, asked ${this.o.qos}`);
        this.state = 2;
        send({ type: 'ready' });
      }
      pos = p + rl;
    }
    if (pos < len) this.carry = Buffer.from(buf.subarray(pos)); // a copy: the chunk is not ours to keep
    if (acks) this.flushAcks(acks);
    if (got) {
      if (!this.firstNs) this.firstNs = now;
      this.lastNs = now;
      if (this.publishedAt && this.received === n) this.check();
    }
  }

  private flushAcks(count: number): void {
    const out = Buffer.allocUnsafe(count * 4);
    for (let i = 0, j = 0; i < count; i++, j += 4) {
      const id = this.ackIds[i];
      out[j] = 0x40;
      out[j + 1] = 2;
      out[j + 2] = id >> 8;
      out[j + 3] = id & 255;
    }
    this.sock.write(out);
  }
}
