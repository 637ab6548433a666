// The monitor of `npm start`: a client subscribed to every device's telemetry (QoS 0), alerts (QoS 1)
// and status (retained), keeping per device the last reading and what arrived.
import { Client, STOPPED, statusName } from '../../src/index.js';
import type { Host, Message, Target } from '../../src/index.js';

export interface Seen {
  id: string;
  status: string;
  t: number | null;
  h: number | null;
  seq: number;
  telemetry: number;
  /** Telemetry whose seq was not the one after the last: readings the device skipped or the network lost. */
  gaps: number;
  /** Distinct alerts (by their `n`): a QoS 1 message redelivered after a reconnect counts once. */
  alerts: number;
  duplicateAlerts: number;
  lastAlert: string;
  alertNs: Set<number>;
}

export interface MonitorConfig extends Target {
  username?: string;
  password?: string;
  /** The devices' topics are `${prefix}/${id}/…`. */
  prefix: string;
  log(line: string): void;
  onDisconnect?(status: number, retryMs: number): void;
}

function fresh(id: string): Seen {
  return { id, status: '—', t: null, h: null, seq: 0, telemetry: 0, gaps: 0, alerts: 0, duplicateAlerts: 0, lastAlert: '', alertNs: new Set() };
}

export class Monitor {
  readonly client: Client;
  readonly clientId = `monitor-${process.pid}`;
  /** Our devices, in order. Devices of other runs (a shared broker) are counted in `others` only. */
  readonly devices = new Map<string, Seen>();
  others = 0;
  /** Payloads that were not the JSON expected. */
  malformed = 0;
  /** Its subscriptions are in place: its own probe message came back through the broker. */
  ready = false;
  lastError = '';

  private readonly probeTopic: string;
  private readonly prefixLength: number;

  constructor(host: Host, ids: string[], cfg: MonitorConfig) {
    for (const id of ids) this.devices.set(id, fresh(id));
    this.probeTopic = `xs-mqtt-demo/${this.clientId}/ready`;
    this.prefixLength = cfg.prefix.length + 1;
    this.client = new Client(
      host,
      {
        host: cfg.host,
        port: cfg.port,
        tls: cfg.tls,
        username: cfg.username,
        password: cfg.password,
        clientId: this.clientId,
        clean: true,
        keepAliveSec: 30,
        reconnectMinMs: 500,
        reconnectMaxMs: 5000,
      },
      {
        // Subscriptions go out before this runs, and a broker handles one client's packets in
        // order: when the probe published now comes back, every subscription above is active.
        onConnect: () => this.client.publish(this.probeTopic, 'ready', 1),
        onDisconnect: (status, retryMs) => {
          if (status === STOPPED) return; // our own stop()
          this.lastError = statusName(status);
          if (this.ready) cfg.log(`monitor: offline (${this.lastError}), ${retryMs < 0 ? 'stopped' : `retry in ${retryMs} ms`}`);
          cfg.onDisconnect?.(status, retryMs);
        },
      },
    );
    this.client.subscribe(`${cfg.prefix}/+/telemetry`, 0, (m) => this.telemetry(m));
    this.client.subscribe(`${cfg.prefix}/+/alerts`, 1, (m) => this.alert(m));
    this.client.subscribe(`${cfg.prefix}/+/status`, 1, (m) => this.status(m));
    this.client.subscribe(this.probeTopic, 1, () => {
      this.ready = true;
    });
  }

  private device(m: Message): Seen | null {
    const id = m.topic.slice(this.prefixLength).split('/')[0];
    const d = this.devices.get(id);
    if (!d) this.others++;
    return d ?? null;
  }

  private parse(m: Message): Record<string, unknown> | null {
    try {
      const v: unknown = JSON.parse(m.text);
      if (v && typeof v === 'object') return v as Record<string, unknown>;
    } catch {
      // counted below
    }
    this.malformed++;
    return null;
  }

  private telemetry(m: Message): void {
    const d = this.device(m);
    if (!d) return;
    d.telemetry++;
    const v = this.parse(m);
    if (!v) return;
    if (typeof v.t === 'number') d.t = v.t;
    if (typeof v.h === 'number') d.h = v.h;
    if (typeof v.seq === 'number') {
      if (d.seq && v.seq !== d.seq + 1) d.gaps++;
      d.seq = v.seq;
    }
  }

  private alert(m: Message): void {
    const d = this.device(m);
    if (!d) return;
    const v = this.parse(m);
    const n = v && typeof v.n === 'number' ? v.n : -1;
    if (n >= 0 && d.alertNs.has(n)) {
      d.duplicateAlerts++;
      return;
    }
    if (n >= 0) d.alertNs.add(n);
    d.alerts++;
    if (v) d.lastAlert = `${String(v.kind)} ${typeof v.t === 'number' ? v.t.toFixed(1) : '?'}`;
  }

  private status(m: Message): void {
    const d = this.device(m);
    if (d) d.status = m.text || '(cleared)';
  }
}
