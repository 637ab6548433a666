// `npm run bench:e2e`: end-to-end throughput and latency through a real Mosquitto, for xs-mqtt on the
// Node host, MQTT.js, and a raw socket writing pre-encoded frames (the ceiling). tools/bench-e2e.mjs
// bundles this file (and the subscriber worker) with esbuild and calls main().
//
// Method
// - One Mosquitto (test/brokers/mosquitto.ts) on a free 127.0.0.1 port for the whole bench, with
//   max_inflight_messages 0 and max_queued_messages 0 (no limit): the defaults, 20 and 1000, would
//   make the broker drop messages to a subscriber that falls behind (QoS 0 as well as QoS 1), and
//   cap QoS 1 delivery at 20 in flight; set_tcp_nodelay true, or the broker's own Nagle delay
//   (up to 40 ms against the subscriber's delayed ACKs) would be every client's p99; per-packet
//   debug logging is off (see tools/bench-e2e.mjs).
// - One subscriber for every run, whatever publishes: a raw socket in a worker thread
//   (tools/bench/subscriber.ts), subscribed at the run's QoS on the run's own topic before the
//   publisher connects. It counts distinct sequence numbers; what is missing after a grace period
//   with nothing arriving is lost.
// - Throughput: `messages` × 64-byte payloads, published as fast as each client honestly allows
//   (tools/bench/publishers.ts). msgs/s = messages received / (last arrival − first publish call).
//   Each (client, QoS) is warmed up once, then measured `repeats` times, the clients in rotating
//   order; the median is reported.
// - Latency: a separate run paced at `rate` msg/s by a timer with catch-up; the payload carries the
//   publish-call time (process.hrtime, shared by all threads); latency = arrival of the chunk that
//   holds the message at the subscriber − that time. p50 and p99 over the messages received.
// - QoS 1: every client has at most `window` messages unacknowledged.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { startMosquitto, MOSQUITTO, type Broker } from '../../test/brokers/mosquitto.js';
import { hrMs, PAYLOAD_BYTES } from './frames.js';
import { CLIENTS, makePublisher, xsOutbox, type ClientName, type Publisher } from './publishers.js';
import type { SubReply, SubResult, SubStart } from './subscriber.js';

export const USAGE = `Usage: npm run bench:e2e [-- options]     (node --expose-gc tools/bench-e2e.mjs [options])

End-to-end benchmark through a Mosquitto spawned on a free loopback port: xs-mqtt (Node host),
MQTT.js and a raw socket writing pre-encoded frames (the ceiling) publish to one raw subscriber.

Options:
  --messages N          messages per throughput run (default 100000)
  --repeats N           throughput runs per client and QoS; the median is reported (default 3)
  --latency-messages N  messages of the paced latency run (default 5000)
  --rate N              pace of the latency run, msg/s (default 1000)
  --window N            QoS 1 messages unacknowledged at most, for every client (default 16)
  --warmup N            messages of the warm-up run per client and QoS (default messages / 10)
  --grace MS            wait this long after the last arrival for missing messages (default 2000)
  --clients LIST        comma-separated subset of ceiling,MQTT.js,xs-mqtt (default: all)
  --qos LIST            0, 1 or 0,1 (default 0,1)
  --quick               --messages 20000 --repeats 1 --latency-messages 1000
  --json                print the results as JSON only (progress goes to stderr)
  --help                this text
`;

export interface Options {
  messages: number;
  repeats: number;
  latencyMessages: number;
  rate: number;
  window: number;
  warmup: number;
  graceMs: number;
  clients: ClientName[];
  qos: number[];
  json: boolean;
}

export function parseOptions(argv: string[]): Options | string {
  const { values } = parseArgs({
    args: argv,
    options: {
      messages: { type: 'string' },
      repeats: { type: 'string' },
      'latency-messages': { type: 'string' },
      rate: { type: 'string' },
      window: { type: 'string' },
      warmup: { type: 'string' },
      grace: { type: 'string' },
      clients: { type: 'string' },
      qos: { type: 'string' },
      quick: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) return USAGE;
  const int = (name: string, v: string | undefined, dflt: number, min: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
    return n;
  };
  const quick = values.quick === true;
  const messages = int('messages', values.messages, quick ? 20000 : 100000, 1);
  const clients = (values.clients ?? CLIENTS.join(',')).split(',').map((s) => s.trim()) as ClientName[];
  for (const c of clients) if (!CLIENTS.includes(c)) throw new Error(`--clients: unknown client ${c} (${CLIENTS.join(', ')})`);
  const qos = (values.qos ?? '0,1').split(',').map((s) => Number(s.trim()));
  if (!qos.length || qos.some((q) => q !== 0 && q !== 1)) throw new Error('--qos: 0, 1 or 0,1');
  const window = int('window', values.window, 16, 1);
  if (window > 65535) throw new Error('--window must be at most 65535');
  return {
    messages,
    repeats: int('repeats', values.repeats, quick ? 1 : 3, 1),
    latencyMessages: int('latency-messages', values['latency-messages'], quick ? 1000 : 5000, 1),
    rate: int('rate', values.rate, 1000, 1),
    window,
    warmup: int('warmup', values.warmup, Math.min(10000, Math.ceil(messages / 10)), 0),
    graceMs: int('grace', values.grace, 2000, 0),
    clients,
    qos: [...new Set(qos)].sort(),
    json: values.json === true,
  };
}

// ---- the subscriber worker ------------------------------------------------------------------------

class Subscriber {
  private readonly worker: Worker;
  private waiter: { type: string; resolve: (r: SubReply) => void; reject: (e: Error) => void } | null = null;

  constructor(file: string) {
    this.worker = new Worker(file);
    this.worker.on('message', (r: SubReply) => {
      const w = this.waiter;
      if (!w) return;
      this.waiter = null;
      if (r.type === 'error') w.reject(new Error(r.message));
      else if (r.type !== w.type) w.reject(new Error(`subscriber: ${r.type} while waiting for ${w.type}`));
      else w.resolve(r);
    });
    this.worker.on('error', (e) => this.waiter?.reject(e));
  }

  private expect(type: string, timeoutMs: number): Promise<SubReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`subscriber: no ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        type,
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  /** Connected and subscribed. */
  async start(o: Omit<SubStart, 'type'>): Promise<void> {
    const ready = this.expect('ready', 10000);
    this.worker.postMessage({ type: 'start', ...o } satisfies SubStart);
    await ready;
  }

  /** The publisher is done: the counts once every message arrived or the grace period passed. */
  async result(graceMs: number, timeoutMs: number): Promise<SubResult> {
    const r = this.expect('result', timeoutMs);
    this.worker.postMessage({ type: 'published', graceMs });
    return ((await r) as { result: SubResult }).result;
  }

  /** Ends the worker (and with it any run in progress). */
  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

// ---- one run --------------------------------------------------------------------------------------

export interface RunResult {
  client: ClientName;
  qos: number;
  kind: 'warmup' | 'throughput' | 'latency';
  sent: number;
  received: number;
  lost: number;
  duplicates: number;
  /** Throughput runs: received / (last arrival − first publish call). */
  msgsPerSec: number;
  /** Ms from the first publish call until the publisher was done (all written or all acknowledged). */
  publishMs: number;
  /**
   * CPU time of the publishing thread (the main thread: the publisher and this driver; the
   * subscriber is a worker thread) per message sent, µs, from the first publish call until the
   * subscriber's report. It depends far less than msgs/s on what else the machine runs. 10 ms
   * resolution (Linux clock ticks); NaN off Linux.
   */
  pubCpuUsPerMsg: number;
  /** Latency runs. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

let runNo = 0;

async function oneRun(ctx: Ctx, client: ClientName, qos: number, kind: RunResult['kind'], n: number): Promise<RunResult> {
  const no = ++runNo;
  const topic = `bench/e2e/${String(no).padStart(4, '0')}`;
  (globalThis as { gc?: () => void }).gc?.(); // the previous run's garbage is not this run's cost
  await ctx.sub.start({ port: ctx.broker.port, topic, qos, n, latency: kind === 'latency', clientId: `bench-sub-${no}` });
  const pub = makePublisher(client, { port: ctx.broker.port, topic, qos, window: ctx.o.window, clientId: `bench-pub-${no}`, n });
  await pub.connect();
  let failed: Error | null = null;
  let fail: (e: Error) => void = () => {};
  const failure = new Promise<never>((_, reject) => (fail = reject));
  failure.catch(() => {});
  pub.onError = (e) => {
    failed ??= e;
    fail(e);
  };
  const cpu0 = mainThreadCpuMs();
  const t0 = process.hrtime.bigint();
  await Promise.race([kind === 'latency' ? paced(pub, n, qos, ctx.o.rate) : blast(pub, n, qos), failure]);
  const publishMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const r = await Promise.race([ctx.sub.result(ctx.o.graceMs, 120000 + n), failure]);
  const cpuMs = mainThreadCpuMs() - cpu0;
  pub.onError = () => {};
  await pub.close();
  if (failed) throw failed;
  const secs = Number(r.lastNs - t0) / 1e9;
  const lat = r.latencies ? Array.from(r.latencies).sort((a, b) => a - b) : [];
  const pct = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)] : NaN);
  return {
    client,
    qos,
    kind,
    sent: n,
    received: r.received,
    lost: r.lost,
    duplicates: r.duplicates,
    msgsPerSec: kind === 'latency' || !r.received ? NaN : r.received / secs,
    publishMs,
    pubCpuUsPerMsg: (cpuMs * 1000) / n,
    p50Ms: pct(50),
    p99Ms: pct(99),
    maxMs: lat.length ? lat[lat.length - 1] : NaN,
  };
}

const STAT = `/proc/self/task/${process.pid}/stat`; // the main thread's task: its id is the process id
const TICK_MS = 1000 / (Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100);

/** CPU ms (user + system) the main thread has used, or NaN where /proc is missing. */
function mainThreadCpuMs(): number {
  if (!existsSync(STAT)) return NaN;
  const s = readFileSync(STAT, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
  return (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime: fields 14 and 15
}

/** As fast as the publisher allows: resolves once all are accepted (QoS 0) or acknowledged (QoS 1). */
function blast(pub: Publisher, n: number, qos: number): Promise<void> {
  if (pub.blast) return pub.blast(n);
  return new Promise((resolve) => {
    let seq = 0;
    let running = false;
    let resolved = false;
    const run = () => {
      if (running || resolved) return; // a callback from inside trySend: the loop is already going
      running = true;
      while (seq < n && pub.trySend(seq, 0)) seq++;
      running = false;
      if (seq === n && (qos === 0 || pub.acked === n)) {
        resolved = true;
        resolve();
      }
    };
    pub.onProgress = run;
    run();
  });
}

/**
 * `rate` msg/s: a timer with catch-up (each turn sends every message now due, the next turn is set
 * for the next one). A message the publisher refuses waits for the next turn; its time stamp is
 * taken when it is actually offered.
 */
function paced(pub: Publisher, n: number, qos: number, rate: number): Promise<void> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let seq = 0;
    let resolved = false;
    const check = () => {
      if (!resolved && seq === n && (qos === 0 || pub.acked === n)) {
        resolved = true;
        resolve();
      }
    };
    pub.onProgress = check;
    const tick = () => {
      const due = Math.min(n, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
      while (seq < due && pub.trySend(seq, hrMs())) seq++;
      if (seq < n) setTimeout(tick, Math.max(0, (seq * 1000) / rate - (performance.now() - t0)));
      else check();
    };
    tick();
  });
}

// ---- the bench ------------------------------------------------------------------------------------

interface Ctx {
  o: Options;
  broker: Broker;
  sub: Subscriber;
}

export interface Row {
  client: ClientName;
  qos: number;
  msgsPerSec: number; // median of the throughput runs
  runsMsgsPerSec: number[];
  /** Median over the throughput runs. */
  pubCpuUsPerMsg: number;
  sent: number; // every measured run (throughput and latency)
  lost: number;
  duplicates: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  ratioToMqttjs: number | null;
  ratioToCeiling: number | null;
}

export interface Target {
  name: string;
  value: number;
  target: number;
  met: boolean;
}

export interface Report {
  date: string;
  machine: { cpu: string; cores: number; memGB: number; node: string; os: string; mosquitto: string; mqttjs: string; loadavg: number[] };
  config: {
    messages: number;
    repeats: number;
    warmup: number;
    latencyMessages: number;
    rate: number;
    window: number;
    payloadBytes: number;
    xsOutbox: { inflightWindow: number; outboxMessages: number; outboxBytes: number };
    mosquittoConfig: string[];
  };
  rows: Row[];
  targets: Target[];
  runs: RunResult[];
}

const MOSQUITTO_EXTRA = ['max_inflight_messages 0', 'max_queued_messages 0', 'max_queued_bytes 0', 'set_tcp_nodelay true'];

function mosquittoVersion(): string {
  const r = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8' });
  return /mosquitto version (\S+)/.exec(r.stdout + r.stderr)?.[1] ?? 'unknown';
}

function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length & 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function main(argv: string[], subscriberFile: string): Promise<number> {
  let o: Options;
  try {
    const p = parseOptions(argv);
    if (typeof p === 'string') {
      process.stdout.write(p);
      return 0;
    }
    o = p;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const say = (s: string) => (o.json ? process.stderr : process.stdout).write(s + '\n');
  const require = createRequire(import.meta.url);
  const cpus = os.cpus();
  const report: Report = {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      memGB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      os: `${os.type()} ${os.release()}`,
      mosquitto: mosquittoVersion(),
      mqttjs: JSON.parse(readFileSync(require.resolve('mqtt/package.json'), 'utf8')).version,
      loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    },
    config: {
      messages: o.messages,
      repeats: o.repeats,
      warmup: o.warmup,
      latencyMessages: o.latencyMessages,
      rate: o.rate,
      window: o.window,
      payloadBytes: PAYLOAD_BYTES,
      xsOutbox: xsOutbox({ topic: 'bench/e2e/0000', window: o.window }),
      mosquittoConfig: MOSQUITTO_EXTRA.concat('log_type error/warning/notice/information (not all: no per-packet logging)'),
    },
    rows: [],
    targets: [],
    runs: [],
  };
  const m = report.machine;
  say(`xs-mqtt end-to-end benchmark — ${report.date}`);
  say(`machine: ${m.cpu}, ${m.cores} cores, ${m.memGB} GB, ${m.os}; Node ${m.node}; Mosquitto ${m.mosquitto}; MQTT.js ${m.mqttjs}; load average ${m.loadavg.join(' ')}`);
  const x = report.config.xsOutbox;
  say(
    `config: ${o.messages} × ${PAYLOAD_BYTES}-byte messages per throughput run, median of ${o.repeats} (after a ${o.warmup}-message warm-up); ` +
      `latency: ${o.latencyMessages} messages at ${o.rate} msg/s; QoS 1 window ${o.window} for every client ` +
      `(xs-mqtt: inflightWindow ${x.inflightWindow}, outboxMessages ${x.outboxMessages}, outboxBytes ${x.outboxBytes}); ` +
      `mosquitto: ${MOSQUITTO_EXTRA.join(', ')}, no per-packet log`,
  );

  const broker = await startMosquitto({ extraConfig: MOSQUITTO_EXTRA, quietLog: true });
  const sub = new Subscriber(subscriberFile);
  const ctx: Ctx = { o, broker, sub };
  try {
    const qoses = o.qos;
    const label = (c: string, q: number) => `${c.padEnd(8)} QoS ${q}`;
    if (o.warmup > 0) {
      for (const qos of qoses) for (const c of o.clients) report.runs.push(await oneRun(ctx, c, qos, 'warmup', o.warmup));
      say(`warm-up done (${o.clients.length * qoses.length} runs of ${o.warmup})`);
    }
    for (let rep = 0; rep < o.repeats; rep++) {
      for (const qos of qoses) {
        for (let k = 0; k < o.clients.length; k++) {
          const c = o.clients[(k + rep) % o.clients.length]; // rotating order: no client always goes first
          const r = await oneRun(ctx, c, qos, 'throughput', o.messages);
          report.runs.push(r);
          say(`  ${label(c, qos)}  run ${rep + 1}/${o.repeats}: ${fmtInt(r.msgsPerSec)} msgs/s, ${r.lost} lost, publisher done in ${r.publishMs.toFixed(0)} ms, publisher thread CPU ${r.pubCpuUsPerMsg.toFixed(2)} µs/msg`);
        }
      }
    }
    for (const qos of qoses) {
      for (const c of o.clients) {
        const r = await oneRun(ctx, c, qos, 'latency', o.latencyMessages);
        report.runs.push(r);
        say(`  ${label(c, qos)}  latency at ${o.rate} msg/s: p50 ${r.p50Ms.toFixed(3)} ms, p99 ${r.p99Ms.toFixed(3)} ms, max ${r.maxMs.toFixed(3)} ms, ${r.lost} lost`);
      }
    }
  } finally {
    await sub.stop();
    await broker.stop();
  }

  // ---- rows, ratios, targets ----
  for (const qos of o.qos) {
    for (const c of o.clients) {
      const runs = report.runs.filter((r) => r.client === c && r.qos === qos && r.kind !== 'warmup');
      const tput = runs.filter((r) => r.kind === 'throughput');
      const lat = runs.find((r) => r.kind === 'latency')!;
      report.rows.push({
        client: c,
        qos,
        msgsPerSec: median(tput.map((r) => r.msgsPerSec)),
        runsMsgsPerSec: tput.map((r) => r.msgsPerSec),
        pubCpuUsPerMsg: median(tput.map((r) => r.pubCpuUsPerMsg)),
        sent: runs.reduce((s, r) => s + r.sent, 0),
        lost: runs.reduce((s, r) => s + r.lost, 0),
        duplicates: runs.reduce((s, r) => s + r.duplicates, 0),
        p50Ms: lat.p50Ms,
        p99Ms: lat.p99Ms,
        maxMs: lat.maxMs,
        ratioToMqttjs: null,
        ratioToCeiling: null,
      });
    }
  }
  const row = (c: ClientName, qos: number) => report.rows.find((r) => r.client === c && r.qos === qos);
  for (const r of report.rows) {
    const mq = row('MQTT.js', r.qos);
    const ce = row('ceiling', r.qos);
    r.ratioToMqttjs = mq ? r.msgsPerSec / mq.msgsPerSec : null;
    r.ratioToCeiling = ce ? r.msgsPerSec / ce.msgsPerSec : null;
  }
  const xs0 = row('xs-mqtt', 0);
  const xs1 = row('xs-mqtt', 1);
  const ce0 = row('ceiling', 0);
  const ce1 = row('ceiling', 1);
  const t = (name: string, value: number, target: number, atLeast: boolean) =>
    report.targets.push({ name, value, target, met: atLeast ? value >= target : value <= target });
  if (xs0 && ce0) t('xs-mqtt QoS 0 msgs/s ≥ 0.95 × ceiling', xs0.msgsPerSec / ce0.msgsPerSec, 0.95, true);
  if (xs1 && ce1) t('xs-mqtt QoS 1 msgs/s ≥ 0.9 × ceiling QoS 1', xs1.msgsPerSec / ce1.msgsPerSec, 0.9, true);
  if (xs0 && xs1) t('xs-mqtt messages lost = 0 (QoS 0 and 1, every run)', xs0.lost + xs1.lost, 0, false);
  if (xs0 && ce0) t('xs-mqtt QoS 0 p99 ≤ 1.5 × ceiling p99', xs0.p99Ms / ce0.p99Ms, 1.5, false);
  if (xs1 && ce1) t('xs-mqtt QoS 1 p99 ≤ 1.5 × ceiling p99', xs1.p99Ms / ce1.p99Ms, 1.5, false);

  if (o.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return 0;
  }
  say('');
  say(table(report.rows));
  say('');
  say(`msgs/s: median of ${o.repeats} throughput run${o.repeats > 1 ? 's' : ''} of ${fmtInt(o.messages)} (range in brackets); lost: over every measured run of the row (${fmtInt(report.rows[0]?.sent ?? 0)} messages); p50/p99: the paced run, ${fmtInt(o.latencyMessages)} messages at ${o.rate} msg/s; ×: msgs/s over that of MQTT.js / the ceiling at the same QoS; pub CPU: CPU time of the publishing thread per message (median), much less sensitive than msgs/s to other load on the machine.`);
  say('');
  say('targets:');
  for (const g of report.targets) {
    const v = g.name.includes('lost') ? String(g.value) : `${g.value.toFixed(2)}×`;
    say(`  ${g.met ? 'met    ' : 'NOT met'}  ${g.name}: ${v}`);
  }
  return 0;
}

function fmtInt(n: number): string {
  return Number.isNaN(n) ? '—' : Math.round(n).toLocaleString('en-US');
}

function table(rows: Row[]): string {
  const head = ['client', 'QoS', 'msgs/s', '(range)', 'lost', 'p50 ms', 'p99 ms', '× MQTT.js', '× ceiling', 'pub CPU µs/msg'];
  const body = rows.map((r) => [
    r.client,
    String(r.qos),
    fmtInt(r.msgsPerSec),
    r.runsMsgsPerSec.length > 1 ? `${fmtInt(Math.min(...r.runsMsgsPerSec))}–${fmtInt(Math.max(...r.runsMsgsPerSec))}` : '',
    String(r.lost),
    r.p50Ms.toFixed(3),
    r.p99Ms.toFixed(3),
    r.ratioToMqttjs === null ? '—' : r.ratioToMqttjs.toFixed(2),
    r.ratioToCeiling === null ? '—' : r.ratioToCeiling.toFixed(2),
    Number.isNaN(r.pubCpuUsPerMsg) ? '—' : r.pubCpuUsPerMsg.toFixed(2),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ') + ' |';
  return [line(head), '| ' + w.map((n, i) => (i < 2 ? '-'.repeat(n) : '-'.repeat(n - 1) + ':')).join(' | ') + ' |', ...body.map(line)].join('\n');
}
