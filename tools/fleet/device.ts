// One simulated device of `npm run fleet`: a real Client on the Node host publishing fixed-size
// payloads to its own topic at a fixed rate. Its publishes are driven by the fleet's one scheduler
// tick (no timer per device), and its payload buffer is made once and rewritten in place for each
// message (the client copies it into its outbox or onto the link before publish() returns).
//
// Payload, little-endian, then filler up to --size bytes:
//   0  u32  run tag (random per run: a message of another run, or garbage, is not counted)
//   4  u32  device index
//   8  u32  sequence number, from 1, consecutive over the messages publish() accepted
//  12  u32  0
//  16  f64  the wall-clock time in ms (performance.timeOrigin + performance.now()) just before
//           publish(): one clock for the monitors in this process and for a fleet in --mode sub in
//           another process on this machine
import { Client, topicBytes } from '../../src/index.js';
import type { Target } from '../../src/index.js';
import { CliHost, describeEnd } from '../cli/common.js';
import type { Histogram } from './histogram.js';

export const HEADER_BYTES = 24;

/** Milliseconds since the epoch, to the microsecond, from the monotonic clock (see the payload). */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface Link extends Target {
  username?: string;
  password?: string;
}

/** A topic template: every %i is the device's (or subscriber's) number, from 1. */
export function topicFor(template: string, n: number): string {
  return template.split('%i').join(String(n));
}

export interface DeviceConfig {
  index: number;
  id: string;
  clientId: string;
  topic: string;
  qos: number;
  size: number;
  /** Messages per second. */
  rate: number;
  runTag: number;
  link: Link;
  /** The broker, for messages. */
  label: string;
  /** Where the time from start() to the first CONNACK goes. */
  connectTimes: Histogram;
}

/** What the monitors saw of one device's messages. */
export class Received {
  /** Distinct messages received (a QoS 1 redelivery counts once). */
  count = 0;
  /** The highest sequence number received. */
  highest = 0;
  duplicates = 0;
  /** Sequence numbers below `highest` not (yet) received: made on the first gap only. */
  missing: Set<number> | null = null;

  /** Records `seq`; true when it is new (not a duplicate). */
  take(seq: number): boolean {
    if (seq > this.highest) {
      if (seq > this.highest + 1) {
        this.missing ??= new Set();
        for (let s = this.highest + 1; s < seq; s++) this.missing.add(s);
      }
      this.highest = seq;
      this.count++;
      return true;
    }
    if (this.missing?.delete(seq)) {
      this.count++; // late, out of order
      return true;
    }
    this.duplicates++;
    return false;
  }

  /** Holes below the highest received: messages missing in the middle of the sequence. */
  get gaps(): number {
    return this.missing ? this.missing.size : 0;
  }
}

export class FleetDevice {
  readonly index: number;
  readonly id: string;
  readonly topic: string;
  readonly client: Client;
  readonly received = new Received();

  /** Messages publish() accepted (QoS 1: into the outbox; QoS 0: onto the link). */
  sent = 0;
  /** PUBACKs (QoS 1). */
  acked = 0;
  /** Publishes the client refused (OUTBOX_FULL, NOT_CONNECTED, …): never sent, not counted as sent. */
  refused = 0;
  /** The refusals by status. */
  readonly refusals = new Map<number, number>();
  /** Publishing: from the first CONNACK until the end of the run. */
  active = false;
  /** The run is over: publish no more. */
  ending = false;
  /** performance.now() of the next scheduled publish. */
  nextDueMs = 0;
  startedAtMs = -1;
  /** Why the first connection failed, for a person (set only while it never connected). */
  fatal = '';

  private readonly cfg: DeviceConfig;
  private readonly topicData: Uint8Array;
  private readonly payload: Uint8Array;
  private readonly view: DataView;
  private seq = 0;

  constructor(cfg: DeviceConfig) {
    this.cfg = cfg;
    this.index = cfg.index;
    this.id = cfg.id;
    this.topic = cfg.topic;
    this.topicData = topicBytes(cfg.topic); // encoded and checked once, as a device would
    this.payload = new Uint8Array(cfg.size);
    for (let i = HEADER_BYTES; i < cfg.size; i++) this.payload[i] = 0x61 + (i % 26); // a…z
    this.view = new DataView(this.payload.buffer);
    this.view.setUint32(0, cfg.runTag, true);
    this.view.setUint32(4, cfg.index, true);
    // Room for two seconds of messages (at least the client's default 32, at most 1024) and packets
    // of this size: a device that cannot send faster than it publishes is refused (OUTBOX_FULL).
    const packetBytes = cfg.size + this.topicData.length + 16;
    const outboxMessages = Math.min(1024, Math.max(32, Math.ceil(cfg.rate * 2)));
    // A host of its own (a NodeHost that notes why its links end), for the reason of a failure.
    const host = new CliHost();
    this.client = new Client(
      host,
      {
        host: cfg.link.host,
        port: cfg.link.port,
        tls: cfg.link.tls,
        username: cfg.link.username,
        password: cfg.link.password,
        clientId: cfg.clientId,
        // The QoS 1 guarantee under test is the client's: its outbox resends after a reconnect
        // whether or not the broker kept a session, and a clean session leaves nothing behind.
        clean: true,
        keepAliveSec: 30,
        reconnectMinMs: 500,
        reconnectMaxMs: 5000,
        txBufferSize: Math.max(1024, packetBytes),
        outboxMessages,
        outboxBytes: Math.max(4096, outboxMessages * packetBytes),
        rxQueueBytes: 4096, // it subscribes to nothing: CONNACK, PUBACKs, PINGRESP
      },
      {
        onConnect: () => {
          if (this.client.connects === 1) {
            const now = performance.now();
            cfg.connectTimes.record(now - this.startedAtMs);
            if (!this.ending) this.activate(now);
          }
        },
        onPublished: () => {
          this.acked++;
        },
        onDisconnect: (status) => {
          if (this.client.connects === 0 && !this.fatal) this.fatal = describeEnd(status, host, cfg.label, false, !!cfg.link.tls);
        },
      },
    );
  }

  get periodMs(): number {
    return 1000 / this.cfg.rate;
  }

  start(): void {
    this.startedAtMs = performance.now();
    this.client.start();
  }

  /** Begins publishing, the first message at a random point within the first period (devices spread out). */
  activate(nowMs: number): void {
    this.active = true;
    this.nextDueMs = nowMs + Math.random() * this.periodMs;
  }

  /** One message now. True when publish() accepted it. */
  publish(): boolean {
    const seq = this.seq + 1;
    this.view.setUint32(8, seq, true);
    this.view.setFloat64(16, wallMs(), true);
    const r = this.client.publish(this.topicData, this.payload, this.cfg.qos);
    if (r < 0) {
      this.refused++;
      this.refusals.set(r, (this.refusals.get(r) ?? 0) + 1);
      return false;
    }
    this.seq = seq; // a refused message leaves no hole in the sequence
    this.sent++;
    return true;
  }

  /** QoS 1 messages the broker has not acknowledged yet. */
  get unacked(): number {
    return this.client.session.queued;
  }

  /** Publishes no more; what is in the outbox still goes. */
  stopPublishing(): void {
    this.ending = true;
    this.active = false;
  }

  stop(): void {
    this.stopPublishing();
    this.client.stop();
  }
}
