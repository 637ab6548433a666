// One simulated device of `npm start`, written as an application on a sensor board would use the
// library: a persistent session (clean: false), a retained will, telemetry at QoS 0 on a timer,
// alerts at QoS 1 (kept until acknowledged, across reconnects), and commands on a subscription.
//
// Topics, for the device `dev-1` (the prefix `devices` is --prefix's default):
//   devices/dev-1/status        QoS 1: `online` once connected, `offline` at a clean end or, as the
//                               will, when the link dies without DISCONNECT; retained (both) only
//                               with --retain-status, so that a run leaves nothing on a broker
//   devices/dev-1/telemetry     QoS 0: {"t":21.4,"h":40.2,"seq":17}
//   devices/dev-1/alerts        QoS 1: {"n":1,"kind":"high","t":25.3,"threshold":25,"seq":17}
//   devices/dev-1/cmd/interval  to the device: the telemetry period in ms (10 … 3600000)
import { Client, STOPPED, statusName } from '../../src/index.js';
import type { Host, Message, Target } from '../../src/index.js';
import { SimSensor, round1 } from './sensor.js';

export interface DeviceConfig extends Target {
  id: string;
  /** Topics are `${prefix}/${id}/…`. */
  prefix: string;
  /** status and the will retained. */
  retainStatus: boolean;
  username?: string;
  password?: string;
  /** Telemetry period, ms. */
  intervalMs: number;
  /** An alert (`high`) when the temperature rises to this, and (`normal`) when it falls 0.5 °C below. */
  threshold: number;
  /** Also an alert (`periodic`) every this many readings; 0: none. */
  alertEvery: number;
  log(line: string): void;
}

const MIN_INTERVAL_MS = 10;
const MAX_INTERVAL_MS = 3600000;
const HYSTERESIS = 0.5;

export class Device {
  readonly id: string;
  readonly client: Client;
  readonly sensor = new SimSensor();
  intervalMs: number;

  // What the device did, for the live view and the summary.
  telemetrySent = 0;
  /** Readings not sent: publish refused (offline, or the link full). QoS 0 is not queued. */
  telemetrySkipped = 0;
  alertsSent = 0;
  alertsAcked = 0;
  /** Alerts the client refused (OUTBOX_FULL, …): never sent, so not counted as sent. */
  alertsRefused = 0;
  lastAlert = '';
  commands = 0;

  private readonly cfg: DeviceConfig;
  private readonly topics: { status: string; telemetry: string; alerts: string; cmd: string };
  private readonly alertIds = new Set<number>(); // packet ids of alerts awaiting their PUBACK
  private alertN = 0;
  private alarm = false;
  private started = false; // readings began (at the first connect)
  private running = false; // taking readings: from the first connect until stopPublishing()
  private ending = false; // stopPublishing() was called
  private timer: ReturnType<typeof setTimeout> | null = null;
  private due = 0; // performance.now() of the next reading

  constructor(host: Host, cfg: DeviceConfig) {
    this.cfg = cfg;
    this.id = cfg.id;
    this.intervalMs = cfg.intervalMs;
    const base = `${cfg.prefix}/${cfg.id}`;
    this.topics = { status: `${base}/status`, telemetry: `${base}/telemetry`, alerts: `${base}/alerts`, cmd: `${base}/cmd/` };
    this.client = new Client(
      host,
      {
        host: cfg.host,
        port: cfg.port,
        tls: cfg.tls,
        username: cfg.username,
        password: cfg.password,
        clientId: cfg.id,
        clean: false,
        keepAliveSec: 30,
        will: { topic: this.topics.status, payload: 'offline', qos: 1, retain: cfg.retainStatus },
        reconnectMinMs: 500,
        reconnectMaxMs: 10000,
      },
      {
        onConnect: (sessionPresent) => {
          this.client.publish(this.topics.status, this.ending ? 'offline' : 'online', 1, cfg.retainStatus);
          if (this.client.connects > 1) cfg.log(`${this.id}: online again (session ${sessionPresent ? 'kept' : 'new'})`);
          if (!this.started && !this.ending) {
            // First connection: start reading, at a random point in the period so that devices
            // do not all publish in the same millisecond.
            this.started = this.running = true;
            this.arm(Math.random() * this.intervalMs);
          }
        },
        onDisconnect: (status, retryMs) => {
          if (status === STOPPED) return; // our own stop()
          cfg.log(`${this.id}: offline (${statusName(status)}), ${retryMs < 0 ? 'stopped' : `retry in ${retryMs} ms`}`);
        },
        onPublished: (packetId) => {
          if (this.alertIds.delete(packetId)) this.alertsAcked++;
        },
      },
    );
    this.client.subscribe(`${base}/cmd/#`, 1, (m) => this.command(m));
  }

  start(): void {
    this.client.start();
  }

  /** Nothing unacknowledged: every QoS 1 message (alerts and status) has had its PUBACK. */
  get settled(): boolean {
    return this.client.session.queued === 0;
  }

  /** Stops the readings, and says `offline` (QoS 1) while still connected. */
  stopPublishing(): void {
    if (this.ending) return;
    this.ending = true;
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.client.online) this.client.publish(this.topics.status, 'offline', 1, this.cfg.retainStatus);
  }

  /** DISCONNECT (the broker drops the will) and no more reconnecting. */
  stop(): void {
    this.stopPublishing();
    this.client.stop();
  }

  private arm(delayMs: number): void {
    this.due = performance.now() + delayMs;
    this.timer = setTimeout(() => this.tick(), delayMs);
  }

  private tick(): void {
    this.timer = null;
    if (!this.running) return;
    const s = this.sensor;
    s.read();
    const t = round1(s.t);
    const r = this.client.publish(this.topics.telemetry, JSON.stringify({ t, h: round1(s.h), seq: s.seq }), 0);
    if (r === 0) this.telemetrySent++;
    else this.telemetrySkipped++;

    if (!this.alarm && t >= this.cfg.threshold) {
      this.alarm = true;
      this.alert('high', t);
    } else if (this.alarm && t < this.cfg.threshold - HYSTERESIS) {
      this.alarm = false;
      this.alert('normal', t);
    }
    if (this.cfg.alertEvery > 0 && s.seq % this.cfg.alertEvery === 0) this.alert('periodic', t);

    // The next reading a period after this one was due, not after now: no drift.
    const next = this.due + this.intervalMs;
    this.arm(Math.max(0, next - performance.now()));
    this.due = next;
  }

  private alert(kind: string, t: number): void {
    const n = this.alertN + 1;
    const payload = JSON.stringify({ n, kind, t, threshold: this.cfg.threshold, seq: this.sensor.seq });
    // QoS 1: kept in the client's outbox until the broker acknowledges it, also while offline.
    const id = this.client.publish(this.topics.alerts, payload, 1);
    if (id > 0) {
      this.alertN = n;
      this.alertsSent++;
      this.alertIds.add(id);
      this.lastAlert = `${kind} ${t.toFixed(1)}`;
    } else {
      this.alertsRefused++;
      this.cfg.log(`${this.id}: alert ${kind} refused: ${statusName(id)}`);
    }
  }

  private command(m: Message): void {
    const topic = m.topic;
    if (!topic.startsWith(this.topics.cmd)) return;
    const name = topic.slice(this.topics.cmd.length);
    const text = m.text.trim();
    this.commands++;
    if (name === 'interval') {
      const ms = Number(text);
      if (!Number.isInteger(ms) || ms < MIN_INTERVAL_MS || ms > MAX_INTERVAL_MS) {
        this.cfg.log(`${this.id}: ignored cmd/interval ${JSON.stringify(text)} (want ${MIN_INTERVAL_MS}…${MAX_INTERVAL_MS} ms)`);
        return;
      }
      if (ms === this.intervalMs) return;
      this.cfg.log(`${this.id}: interval ${this.intervalMs} → ${ms} ms (command${m.retain ? ', retained' : ''})`);
      this.intervalMs = ms;
      if (this.running && this.timer !== null) {
        // The new period starts now.
        clearTimeout(this.timer);
        this.arm(ms);
      }
    } else {
      this.cfg.log(`${this.id}: unknown command ${JSON.stringify(name)} ignored`);
    }
  }
}
