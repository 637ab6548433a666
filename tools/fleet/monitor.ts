// The receiving side of `npm run fleet`: monitor clients in the same process as the devices, each
// subscribed to the exact topics of up to DEVICES_PER_MONITOR devices, at the run's QoS. They read
// the sequence number and send time out of each payload, so that the fleet can count what arrived,
// what was lost (holes in a device's sequence, and messages sent but never received) and the latency
// from the publish() call to the subscriber's handler, on one clock.
//
// Several monitors rather than one: one subscriber for all 1000 devices would measure its own
// connection's queue (one TCP stream, one client's receive path, and a broker's per-client limits
// such as Mosquitto's max_inflight_messages and max_queued_messages) more than the path from
// device to consumer.
//
// A monitor's session is persistent (clean: false, an id unique to the run), so that a monitor that
// reconnects mid-run gets what the broker queued meanwhile instead of counting it lost; purge()
// removes that session from a broker that outlives the run.
import { Client, STOPPED, SUBACK_FAILURE, statusName } from '../../src/index.js';
import type { Message } from '../../src/index.js';
import { CliHost, describeEnd } from '../cli/common.js';
import { HEADER_BYTES, wallMs, type FleetDevice, type Link } from './device.js';
import type { Histogram } from './histogram.js';

export const DEVICES_PER_MONITOR = 100;

/** Shared by every monitor of a run. */
export class Reception {
  /** Distinct messages received. */
  received = 0;
  duplicates = 0;
  /** Payloads that were not ours: too short, another run's tag, or another device's index. */
  malformed = 0;
  /** performance.now() of the last new message. */
  lastAtMs = 0;
  constructor(
    readonly runTag: number,
    readonly latency: Histogram,
    /** The same samples, for a window the caller resets (the progress line's last second). */
    readonly recent: Histogram,
  ) {}
}

export class FleetMonitor {
  readonly client: Client;
  readonly clientId: string;
  /** Every subscription is in place: the monitor's own probe came back through the broker. */
  ready = false;
  lastError = '';
  /** Why the last link ended, as the host said it (a refused connection, a certificate not trusted, …). */
  lastLinkError = '';
  /** Why the first connection failed, for a person (set only when it never connected): nothing to wait for. */
  fatal = '';
  /** Connections lost and connection attempts failed. */
  drops = 0;
  /** Subscriptions the broker refused (SUBACK 0x80: an ACL, a limit): those devices' messages never arrive. */
  refusedSubscriptions = 0;

  private readonly probeTopic: string;
  private readonly host: CliHost;
  private readonly link: Link;
  private readonly rx: Reception;
  // The payload header is copied here to be read (one buffer per monitor, no allocation per message).
  private readonly header = new Uint8Array(HEADER_BYTES);
  private readonly headerView = new DataView(this.header.buffer);

  constructor(
    link: Link,
    o: { clientId: string; probeTopic: string; qos: number; size: number; devices: FleetDevice[]; reception: Reception; label: string; filter?: string },
  ) {
    this.link = link;
    this.clientId = o.clientId;
    this.probeTopic = o.probeTopic;
    this.rx = o.reception;
    const longestTopic = o.devices.reduce((n, d) => Math.max(n, d.topic.length * 3), o.probeTopic.length * 3);
    // A host of its own, which notes why each of this monitor's links ended.
    const linkHost = new CliHost();
    this.host = linkHost;
    this.client = new Client(
      linkHost,
      {
        ...this.target(),
        clientId: o.clientId,
        clean: false,
        keepAliveSec: 30,
        reconnectMinMs: 250,
        reconnectMaxMs: 2000,
        // A message split between two reads is gathered in the receive buffer: make it fit whole.
        rxBufferSize: Math.max(1024, o.size + longestTopic + 16),
        // What arrives between two runs of the client's deferred handler: Node reads a busy socket
        // up to 32 times 64 KiB in one event-loop turn (1.1 MB was seen at 5000 msg/s of 10 KB from
        // Mosquitto). More than this pauses the socket (flow control) rather than losing anything,
        // but that would show as latency. Pages never written are never committed.
        rxQueueBytes: 4 << 20,
      },
      {
        onDisconnect: (status, _retryMs, reason) => {
          if (status === STOPPED) return; // the run's own end
          this.lastError = statusName(status);
          if (reason && reason !== 'closed') this.lastLinkError = reason; // 'closed': we closed it
          if (this.client.connects === 0 && !this.fatal) this.fatal = describeEnd(status, linkHost, o.label, false, !!link.tls);
          this.drops++;
        },
        onSubscribed: (_filter, granted) => {
          if (granted === SUBACK_FAILURE) this.refusedSubscriptions++;
        },
      },
    );
    // Subscribe-only (--mode sub): one filter, any publisher's messages; else each device's topic.
    if (o.filter !== undefined) {
      const probe = new TextEncoder().encode(o.probeTopic);
      this.client.subscribe(o.filter, o.qos, (m) => {
        if (m.topicLength === probe.length) {
          let i = 0;
          while (i < probe.length && m.topicData[m.topicOffset + i] === probe[i]) i++;
          if (i === probe.length) return; // our own probe, matched by a wide filter
        }
        this.takeAny(m);
      });
    }
    for (const d of o.devices) this.client.subscribe(d.topic, o.qos, (m) => this.take(d, m));
    // Last: SUBSCRIBEs go out in order and the broker handles them in order, so when a probe
    // published after this one comes back, every subscription above is in place.
    this.client.subscribe(o.probeTopic, 0, () => {
      this.ready = true;
    });
  }

  private target(): Link {
    const l = this.link;
    return { host: l.host, port: l.port, tls: l.tls, username: l.username, password: l.password };
  }

  start(): void {
    this.client.start();
  }

  /** Called by the fleet's tick until ready: the probe is QoS 0, and is refused offline. */
  probe(): void {
    if (!this.ready && this.client.online) this.client.publish(this.probeTopic, 'ready', 0);
  }

  private take(d: FleetDevice, m: Message): void {
    const now = performance.now();
    const rx = this.rx;
    // The receive buffer holds a whole message, so it comes in one piece; a piece after the first
    // (should one come) has no header.
    if (m.fragmentOffset !== 0) return;
    if (m.payloadLength < HEADER_BYTES) {
      rx.malformed++;
      return;
    }
    const h = this.header;
    const data = m.data;
    const at = m.payloadOffset;
    for (let i = 0; i < HEADER_BYTES; i++) h[i] = data[at + i];
    const v = this.headerView;
    if (v.getUint32(0, true) !== rx.runTag || v.getUint32(4, true) !== d.index) {
      rx.malformed++;
      return;
    }
    if (d.received.take(v.getUint32(8, true))) {
      rx.received++;
      rx.lastAtMs = now;
      const ms = wallMs() - v.getFloat64(16, true);
      rx.latency.record(ms);
      rx.recent.record(ms);
    } else rx.duplicates++;
  }

  /**
   * Subscribe-only: every message counts. The latency is measured when the payload is a fleet's
   * (the time of its publish() at offset 16, in wall-clock ms: a fleet publishing from another
   * process on this machine, --mode pub) and the time is plausible; other payloads are counted only.
   */
  private takeAny(m: Message): void {
    const rx = this.rx;
    rx.received++;
    rx.lastAtMs = performance.now();
    if (m.fragmentOffset !== 0 || m.payloadLength < HEADER_BYTES) return;
    const h = this.header;
    const data = m.data;
    const at = m.payloadOffset;
    for (let i = 0; i < HEADER_BYTES; i++) h[i] = data[at + i];
    const ms = wallMs() - this.headerView.getFloat64(16, true);
    if (!(ms >= 0 && ms < 600000)) return;
    rx.latency.record(ms);
    rx.recent.record(ms);
  }

  stop(): void {
    this.client.stop();
  }

  /** Connects once more with a clean session, which deletes the persistent one, and disconnects. */
  async purge(timeoutMs: number): Promise<boolean> {
    let done: (ok: boolean) => void = () => {};
    const finished = new Promise<boolean>((r) => (done = r));
    const c = new Client(this.host, { ...this.target(), clientId: this.clientId, clean: true, keepAliveSec: 30 }, { onConnect: () => done(true) });
    const timer = setTimeout(() => done(false), timeoutMs);
    c.start();
    const ok = await finished;
    clearTimeout(timer);
    c.stop();
    return ok;
  }
}
