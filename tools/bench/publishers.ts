// The three publishers the bench compares, behind one small interface. Each publishes as fast as it
// honestly may: xs-mqtt until publish() refuses (WOULD_BLOCK / OUTBOX_FULL), resuming on its
// onWritable / onPublished; MQTT.js until its publish callback is deferred to 'drain' (QoS 0) or
// `window` messages await their PUBACK (QoS 1); the raw socket (the ceiling) with pre-encoded frames,
// batched writes that respect socket backpressure (QoS 0) and the same window (QoS 1).
import { connect as netConnect, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { NodeHost } from '../../hosts/node/index.js';
import { Client, OUTBOX_FULL, WOULD_BLOCK, statusName } from '../../src/index.js';
import {
  connectFrame,
  DISCONNECT,
  packetIdOf,
  PAYLOAD_BYTES,
  payloadTemplate,
  publishSize,
  SEQ_OFFSET,
  TS_OFFSET,
  writePublishFrame,
} from './frames.js';

export const CLIENTS = ['ceiling', 'MQTT.js', 'xs-mqtt'] as const;
export type ClientName = (typeof CLIENTS)[number];

export interface PublisherOptions {
  port: number;
  topic: string;
  qos: number;
  /** QoS 1 messages sent and not yet acknowledged, at most (the same for every client). */
  window: number;
  clientId: string;
  /** Messages of the run (the ceiling pre-encodes them all). */
  n: number;
}

export interface Publisher {
  /** Connected (CONNACK accepted). */
  connect(): Promise<void>;
  /**
   * Offers message `seq`, stamped `tsMs` (its publish-call time). false: refused for now, nothing
   * taken; onProgress follows when it may take more.
   */
  trySend(seq: number, tsMs: number): boolean;
  /** QoS 1 messages acknowledged so far. */
  readonly acked: number;
  /** Called when the publisher may take more (writable again, a PUBACK). */
  onProgress: () => void;
  /** Called when the connection fails. */
  onError: (err: Error) => void;
  /** Publishes seq 0 … n-1 as fast as allowed; resolves once all are written (QoS 0) or acknowledged (QoS 1). When absent, the generic loop over trySend is used. */
  blast?(n: number): Promise<void>;
  close(): Promise<void>;
}

const noop = () => {};

export function makePublisher(name: ClientName, o: PublisherOptions): Publisher {
  if (name === 'xs-mqtt') return new XsPublisher(o);
  if (name === 'MQTT.js') return new MqttJsPublisher(o);
  return new CeilingPublisher(o);
}

/** The xs-mqtt Client's outbox for a window: twice the window, so that the client refills the window from it on each PUBACK. */
export function xsOutbox(o: { topic: string; window: number }): { outboxMessages: number; outboxBytes: number; inflightWindow: number } {
  const outboxMessages = 2 * o.window;
  return { inflightWindow: o.window, outboxMessages, outboxBytes: outboxMessages * publishSize(Buffer.byteLength(o.topic), PAYLOAD_BYTES, 1) };
}

// ---- xs-mqtt on the Node host ---------------------------------------------------------------------

class XsPublisher implements Publisher {
  acked = 0;
  onProgress: () => void = noop;
  onError: (err: Error) => void = noop;
  private readonly o: PublisherOptions;
  private readonly client: Client;
  private readonly payload: Uint8Array;
  private readonly view: DataView;
  private connected: (() => void) | null = null;
  private stopped = false;

  constructor(o: PublisherOptions) {
    this.o = o;
    this.payload = new Uint8Array(payloadTemplate());
    this.view = new DataView(this.payload.buffer, this.payload.byteOffset, this.payload.byteLength);
    this.client = new Client(
      new NodeHost(),
      { host: '127.0.0.1', port: o.port, clientId: o.clientId, clean: true, keepAliveSec: 60, reconnectMinMs: 60000, ...xsOutbox(o) },
      {
        onConnect: () => this.connected?.(),
        onDisconnect: (status) => {
          if (!this.stopped) this.onError(new Error(`xs-mqtt disconnected: ${statusName(status)}`));
        },
        onPublished: () => {
          this.acked++;
          this.onProgress();
        },
        onWritable: () => this.onProgress(), // after WOULD_BLOCK
      },
    );
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.connected = resolve;
      this.onError = reject;
      this.client.start();
    });
  }

  trySend(seq: number, tsMs: number): boolean {
    this.view.setUint32(SEQ_OFFSET, seq, true);
    this.view.setFloat64(TS_OFFSET, tsMs, true);
    const r = this.client.publish(this.o.topic, this.payload, this.o.qos);
    if (r >= 0) return true;
    if (r === WOULD_BLOCK || r === OUTBOX_FULL) return false;
    throw new Error(`xs-mqtt publish: ${statusName(r)}`);
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.client.stop();
    await new Promise((r) => setImmediate(r));
  }
}

// ---- MQTT.js (devDependency `mqtt`) ---------------------------------------------------------------

class MqttJsPublisher implements Publisher {
  acked = 0;
  onProgress: () => void = noop;
  onError: (err: Error) => void = noop;
  private readonly o: PublisherOptions;
  private readonly template = payloadTemplate();
  private readonly opts: { qos: 0 | 1 };
  private client: mqtt.MqttClient | null = null;
  private pending = 0; // QoS 0 callbacks not yet called: MQTT.js defers them to 'drain'
  private blocked = false;
  private outstanding = 0; // QoS 1 awaiting PUBACK
  private readonly cb0 = (err?: Error) => {
    if (err) return this.onError(err);
    this.pending--;
    if (this.blocked && this.pending === 0) {
      this.blocked = false;
      this.onProgress();
    }
  };
  private readonly cb1 = (err?: Error) => {
    if (err) return this.onError(err);
    this.outstanding--;
    this.acked++;
    this.onProgress();
  };

  constructor(o: PublisherOptions) {
    this.o = o;
    this.opts = { qos: o.qos ? 1 : 0 };
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      // As an application uses it: defaults, except no reconnecting (a reconnect would be a failed run).
      const c = mqtt.connect(`mqtt://127.0.0.1:${this.o.port}`, {
        clientId: this.o.clientId,
        clean: true,
        keepalive: 60,
        protocolVersion: 4,
        reconnectPeriod: 0,
      });
      this.client = c;
      this.onError = reject;
      c.once('connect', () => resolve());
      c.on('error', (e) => this.onError(e));
      c.on('close', () => {
        if (this.client) this.onError(new Error('MQTT.js: connection closed'));
      });
    });
  }

  trySend(seq: number, tsMs: number): boolean {
    const c = this.client!;
    if (this.o.qos === 0 ? this.blocked : this.outstanding >= this.o.window) return false;
    // A new Buffer per message: MQTT.js keeps a reference to the payload until it is written.
    const b = Buffer.allocUnsafe(PAYLOAD_BYTES);
    this.template.copy(b);
    b.writeUInt32LE(seq, SEQ_OFFSET);
    b.writeDoubleLE(tsMs, TS_OFFSET);
    if (this.o.qos === 0) {
      this.pending++;
      c.publish(this.o.topic, b, this.opts, this.cb0);
      if (this.pending > 0) this.blocked = true; // the callback waits for 'drain': so do we
    } else {
      this.outstanding++;
      c.publish(this.o.topic, b, this.opts, this.cb1);
    }
    return true;
  }

  close(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (!c) return Promise.resolve();
    return new Promise((resolve) => c.end(false, {}, () => resolve()));
  }
}

// ---- the ceiling: a raw socket writing pre-encoded frames -----------------------------------------

/** 64 KiB of frames per write, the most a loopback socket takes in one go comfortably. */
const BATCH_BYTES = 65536;

class CeilingPublisher implements Publisher {
  acked = 0;
  onProgress: () => void = noop;
  onError: (err: Error) => void = noop;
  private readonly o: PublisherOptions;
  private readonly frames: Buffer; // all n frames, back to back
  private readonly frameLen: number;
  private readonly tsAt: number; // the time stamp's offset in a frame
  private sock: Socket | null = null;
  private connack = 0; // CONNACK bytes seen (4 when connected)
  private phase = 0; // position within the current 4-byte PUBACK
  private sent = 0;
  private blocked = false;
  private closing = false;

  constructor(o: PublisherOptions) {
    this.o = o;
    const topic = Buffer.from(o.topic, 'utf8');
    const template = payloadTemplate();
    this.frameLen = publishSize(topic.length, PAYLOAD_BYTES, o.qos);
    const payloadAt = this.frameLen - PAYLOAD_BYTES;
    this.tsAt = payloadAt + TS_OFFSET;
    this.frames = Buffer.allocUnsafe(o.n * this.frameLen);
    for (let seq = 0, at = 0; seq < o.n; seq++, at += this.frameLen) {
      writePublishFrame(this.frames, at, topic, template, o.qos, packetIdOf(seq));
      this.frames.writeUInt32LE(seq, at + payloadAt + SEQ_OFFSET);
    }
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.onError = reject;
      const s = netConnect({ host: '127.0.0.1', port: this.o.port, noDelay: true });
      this.sock = s;
      s.on('connect', () => s.write(connectFrame(this.o.clientId, 60)));
      s.on('error', (e) => this.onError(e));
      s.on('close', () => {
        if (!this.closing) this.onError(new Error('ceiling: connection closed by the broker'));
      });
      s.on('data', (b: Buffer) => {
        let i = 0;
        // CONNACK: 20 02 00 00 (session present 0, accepted).
        while (this.connack < 4 && i < b.length) {
          if (b[i] !== [0x20, 0x02, 0x00, 0x00][this.connack]) return this.onError(new Error('ceiling: CONNACK refused or malformed'));
          i++;
          if (++this.connack === 4) resolve();
        }
        // Then only PUBACKs: 40 02 id id.
        let acks = 0;
        for (; i < b.length; i++) {
          if (this.phase === 0 && b[i] !== 0x40) return this.onError(new Error(`ceiling: unexpected packet 0x${b[i].toString(16)}`));
          this.phase = (this.phase + 1) & 3;
          if (this.phase === 0) acks++;
        }
        if (acks) {
          this.acked += acks;
          this.onProgress();
        }
      });
    });
  }

  trySend(seq: number, tsMs: number): boolean {
    if (this.o.qos === 0 ? this.blocked : seq - this.acked >= this.o.window) return false;
    const at = seq * this.frameLen;
    this.frames.writeDoubleLE(tsMs, at + this.tsAt);
    if (!this.sock!.write(this.frames.subarray(at, at + this.frameLen)) && this.o.qos === 0) {
      this.blocked = true;
      this.sock!.once('drain', () => {
        this.blocked = false;
        this.onProgress();
      });
    }
    this.sent = seq + 1;
    return true;
  }

  blast(n: number): Promise<void> {
    const s = this.sock!;
    const fl = this.frameLen;
    return new Promise((resolve) => {
      if (this.o.qos === 0) {
        const batch = Math.max(1, Math.floor(BATCH_BYTES / fl)) * fl;
        let off = 0;
        const total = n * fl;
        const pump = () => {
          while (off < total) {
            const end = Math.min(total, off + batch);
            const ok = s.write(this.frames.subarray(off, end));
            off = end;
            if (!ok) {
              s.once('drain', pump);
              return;
            }
          }
          this.sent = n;
          resolve();
        };
        pump();
        return;
      }
      // QoS 1: keep `window` frames unacknowledged, each refill one write.
      const fill = () => {
        const k = Math.min(this.o.window - (this.sent - this.acked), n - this.sent);
        if (k > 0) {
          s.write(this.frames.subarray(this.sent * fl, (this.sent + k) * fl));
          this.sent += k;
        }
      };
      this.onProgress = () => {
        if (this.acked >= n) resolve();
        else fill();
      };
      fill();
    });
  }

  close(): Promise<void> {
    const s = this.sock;
    this.closing = true;
    if (!s || s.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      s.once('close', () => resolve());
      s.end(DISCONNECT);
    });
  }
}
