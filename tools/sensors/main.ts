// `npm start`: simulated sensors on the Node host publishing over MQTT, a monitor showing what
// arrives, and a summary at the end that accounts for every message. tools/start.mjs bundles this
// file with esbuild and calls main().
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { NodeHost } from '../../hosts/node/index.js';
import { validateTopic, type TlsOptions } from '../../src/index.js';
import { CliHost, describeEnd, negativeValues } from '../cli/common.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { Device } from './device.js';
import { Monitor } from './monitor.js';
import { Screen, liveLine, liveTable, secs, stopOnSignals, summaryTable, totals, type Row } from './view.js';

export const USAGE = `Usage: npm start [-- options]        (or: node tools/start.mjs [options])

Simulated sensors (dev-1 … dev-N) publish telemetry over MQTT with the xs-mqtt client on the Node
host, while a monitor subscribed to PREFIX/+/telemetry shows the readings as they arrive. Without
--broker, an embedded broker (Aedes, in this process) listens on a free 127.0.0.1 port. Ctrl-C (or
--duration) ends the run cleanly with a summary; the exit code is 0 when no QoS 1 alert was lost,
1 when one was or the broker could not be reached (at once, with the reason), 2 for a usage error.

Options:
  --devices N       simulated devices (default 3)
  --interval MS     telemetry period of each device, ms (default 1000)
  --duration S      stop after S seconds (default: run until Ctrl-C)
  --broker URL      a broker of your own: mqtt://host[:port] (1883) or mqtts://host[:port] (8883);
                    user:password@ in the URL to log in (default: the embedded broker)
  --ca FILE         PEM CA certificate(s) to verify an mqtts:// broker (default: Node's CA store)
  --prefix P        the topics' prefix: P/dev-1/telemetry, … (default devices)
  --retain-status   publish status (and the will) retained, as a real device would: the broker
                    keeps each device's last status after the run (default: not retained)
  --threshold C     alert when a temperature rises to C °C, and when it falls back (default 25)
  --alert-every N   also an alert every N readings of each device (default 0: none)
  --help            this text

Topics, for dev-1 (with the default prefix):
  devices/dev-1/telemetry     QoS 0   {"t":21.4,"h":40.2,"seq":17}
  devices/dev-1/alerts        QoS 1   {"n":1,"kind":"high","t":25.1,"threshold":25,"seq":17}
  devices/dev-1/status        QoS 1: online, offline (also the will); retained with --retain-status
  devices/dev-1/cmd/interval  send it a period in ms (10 … 3600000) to change the device's rate
`;

export interface Options {
  devices: number;
  intervalMs: number;
  durationS: number; // 0: until Ctrl-C
  broker: string;
  ca: string;
  threshold: number;
  alertEvery: number;
  prefix: string;
  retainStatus: boolean;
  help: boolean;
}

class UsageError extends Error {}

function integer(name: string, v: string | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}…${max}, not ${JSON.stringify(v)}`);
  return n;
}

export function parseOptions(argv: string[]): Options {
  let values;
  const options = {
    devices: { type: 'string' },
    interval: { type: 'string' },
    duration: { type: 'string' },
    broker: { type: 'string' },
    ca: { type: 'string' },
    threshold: { type: 'string' },
    'alert-every': { type: 'string' },
    prefix: { type: 'string' },
    'retain-status': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  try {
    ({ values } = parseArgs({ args: negativeValues(argv, options), strict: true, allowPositionals: false, options }));
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify .*$/s, ''));
  }
  const duration = values.duration === undefined ? 0 : Number(values.duration);
  if (!(duration >= 0) || !Number.isFinite(duration)) throw new UsageError(`--duration must be a number of seconds, not ${JSON.stringify(values.duration)}`);
  const threshold = values.threshold === undefined ? 25 : Number(values.threshold);
  if (!Number.isFinite(threshold)) throw new UsageError(`--threshold must be a temperature in °C, not ${JSON.stringify(values.threshold)}`);
  const o: Options = {
    devices: integer('devices', values.devices, 3, 1, 10000),
    intervalMs: integer('interval', values.interval, 1000, 10, 3600000),
    durationS: duration,
    broker: values.broker ?? '',
    ca: values.ca ?? '',
    threshold,
    alertEvery: integer('alert-every', values['alert-every'], 0, 0, 1000000),
    prefix: values.prefix ?? 'devices',
    retainStatus: values['retain-status'] ?? false,
    help: values.help ?? false,
  };
  checkPrefix('--prefix', o.prefix);
  if (o.ca && !o.broker.startsWith('mqtts:')) throw new UsageError('--ca goes with --broker mqtts://…');
  return o;
}

/** A topic prefix: a topic, without wildcards or a trailing /, to which /dev-1/… is added. */
export function checkPrefix(option: string, prefix: string): void {
  if (prefix.endsWith('/')) throw new UsageError(`${option}: a prefix without the trailing /, e.g. ${JSON.stringify(prefix.replace(/\/+$/, ''))}`);
  try {
    validateTopic(`${prefix}/dev-1`);
  } catch (err) {
    throw new UsageError(`${option}: ${JSON.stringify(prefix)} is not a topic prefix (${(err as Error).message})`);
  }
}

interface BrokerTarget {
  host: string;
  port: number;
  tls?: TlsOptions;
  username?: string;
  password?: string;
  /** For people: the URL, without a password. */
  label: string;
}

export function parseBroker(url: string, ca: string): BrokerTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--broker: not a URL: ${JSON.stringify(url)} (want mqtt://host:port or mqtts://host:port)`);
  }
  const secure = u.protocol === 'mqtts:';
  if (!secure && u.protocol !== 'mqtt:') throw new UsageError(`--broker: ${u.protocol}// is not supported (want mqtt:// or mqtts://)`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new UsageError(`--broker: no host in ${JSON.stringify(url)}`);
  if (u.pathname && u.pathname !== '/') throw new UsageError(`--broker: a path (${u.pathname}) means nothing to MQTT over TCP`);
  const port = u.port ? Number(u.port) : secure ? 8883 : 1883;
  const t: BrokerTarget = { host, port, label: `${u.protocol}//${u.host}` };
  if (u.username) t.username = decodeURIComponent(u.username);
  if (u.password) t.password = decodeURIComponent(u.password);
  if (t.password && !t.username) throw new UsageError('--broker: a password needs a user name');
  if (secure) {
    t.tls = {};
    if (ca) {
      try {
        t.tls.ca = readFileSync(ca, 'utf8');
      } catch (err) {
        throw new UsageError(`--ca: ${(err as Error).message}`);
      }
    }
  }
  return t;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `ok` every 10 ms until it holds, `stop` holds, or `ms` pass. */
async function until(ok: () => boolean, ms: number, stop: () => boolean = () => false): Promise<boolean> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (stop() || performance.now() >= end) return false;
    await sleep(10);
  }
  return true;
}

/** How long the end waits for acknowledgements and telemetry in flight. */
export const DRAIN_MS = 3000;

/** Runs the demo; resolves to the exit code (0: no QoS 1 alert lost; 1: some lost, or no connection; 2: usage). */
export async function main(argv: string[]): Promise<number> {
  let o: Options;
  let target: BrokerTarget | null = null;
  try {
    o = parseOptions(argv);
    if (o.broker) target = parseBroker(o.broker, o.ca);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`start: ${err.message} (npm start -- --help lists the options)\n`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const screen = new Screen(process.stdout, process.stdout.isTTY === true);
  const log = (line: string) => screen.log(line);

  // Ctrl-C or SIGTERM ends the run (a second one, a moment later, ends the process).
  const signals = stopOnSignals('start', 'without a summary');
  const stopped = signals.stopped;

  let broker: EmbeddedBroker | null = null;
  if (!target) {
    broker = await startEmbeddedBroker();
    target = { host: broker.host, port: broker.port, label: `mqtt://${broker.host}:${broker.port}` };
  }
  const where = broker ? `embedded Aedes on ${target.label}` : target.label;
  log(
    `xs-mqtt demo: ${o.devices} simulated device${o.devices === 1 ? '' : 's'}, telemetry every ${o.intervalMs} ms, ` +
      `alerts at ${o.threshold} °C${o.alertEvery ? ` and every ${o.alertEvery} readings` : ''}; broker: ${where}`,
  );

  const host = new NodeHost();
  const link = { host: target.host, port: target.port, tls: target.tls, username: target.username, password: target.password };
  const ids = Array.from({ length: o.devices }, (_, k) => `dev-${k + 1}`);
  // The monitor on a host of its own, which notes why its links end: a first connection that fails
  // (refused by the broker, or no link: ECONNREFUSED, ENOTFOUND, a certificate not trusted) ends the
  // run at once with that reason: there is nothing to wait for.
  const monitorHost = new CliHost();
  let fatal = '';
  const label = target.label;
  const monitor: Monitor = new Monitor(monitorHost, ids, {
    ...link,
    prefix: o.prefix,
    log,
    onDisconnect: (status) => {
      if (monitor.client.connects > 0 || fatal) return;
      fatal = describeEnd(status, monitorHost, label, false, !!link.tls);
      monitor.client.stop();
    },
  });
  const devices = ids.map(
    (id) => new Device(host, { ...link, id, prefix: o.prefix, retainStatus: o.retainStatus, intervalMs: o.intervalMs, threshold: o.threshold, alertEvery: o.alertEvery, log }),
  );
  const rows: Row[] = devices.map((device) => ({ device, seen: monitor.devices.get(device.id)! }));

  let code = 0;
  let runMs = 0;
  let drainMs = 0;
  let drained = false;
  let started = false;
  // The monitor first, so that it hears the devices' first words.
  monitor.client.start();
  if (!(await until(() => monitor.ready, 10000, () => !!signals.requested() || !!fatal))) {
    if (fatal) {
      process.stderr.write(`start: ${fatal}\n`);
      code = 1;
    } else if (!signals.requested()) {
      process.stderr.write(`start: no connection to ${target.label} within 10 s${monitor.lastError ? ` (${monitor.lastError})` : ''}\n`);
      code = 1;
    }
  } else {
    started = true;
    const tStart = performance.now();
    for (const d of devices) d.start();
    log(
      `monitor subscribed to ${o.prefix}/+/telemetry, ${o.prefix}/+/alerts, ${o.prefix}/+/status; ` +
        (o.durationS ? `running for ${o.durationS} s (Ctrl-C to stop sooner)` : 'Ctrl-C to stop'),
    );
    if (!target.tls) log(`  to change dev-1's period: mosquitto_pub -h ${target.host} -p ${target.port} -t ${o.prefix}/dev-1/cmd/interval -m 250`);

    const render = () => {
      if (screen.tty) {
        const rowsFree = Math.max(3, (process.stdout.rows || 24) - 6);
        const head = `${secs(performance.now() - tStart)}   telemetry: sent/received   alerts: sent/acked/received   Ctrl-C to stop`;
        screen.table([head, ...liveTable(rows, rowsFree)]);
      } else log(liveLine(performance.now() - tStart, rows));
    };
    if (screen.tty) render();
    const live = setInterval(render, screen.tty ? 1000 : 3000);
    const durationTimer = o.durationS ? setTimeout(signals.stop, o.durationS * 1000) : null;
    await stopped;
    clearInterval(live);
    if (durationTimer) clearTimeout(durationTimer);
    runMs = performance.now() - tStart;
    screen.clear();
    log(`${signals.requested() ? `${signals.requested()}: ` : ''}stopping after ${secs(runMs)}: waiting for acknowledgements and telemetry in flight…`);

    // The end: stop reading, say `offline`, and wait (bounded) until every QoS 1 message has its
    // PUBACK and the monitor has everything that was sent.
    const tDrain = performance.now();
    for (const d of devices) d.stopPublishing();
    drained = await until(
      () => rows.every(({ device: d, seen: s }) => d.settled && s.telemetry >= d.telemetrySent && s.alerts >= d.alertsSent),
      DRAIN_MS,
    );
    drainMs = performance.now() - tDrain;
  }

  // Clean DISCONNECTs; then the broker, once the clients have closed their connections.
  const tStop = performance.now();
  for (const d of devices) d.stop();
  monitor.client.stop();
  let brokerNote = '';
  if (broker) {
    const idle = await broker.idle(1000);
    if (!idle) brokerNote = ` (${broker.connections} connection(s) still open, closed by the broker)`;
    await broker.close();
  }
  const stopMs = performance.now() - tStop;
  signals.unhook();
  if (!started) {
    if (broker) log('embedded broker closed');
    return code || 1;
  }

  const t = totals(rows);
  const out: string[] = [''];
  out.push(`Summary: ${o.devices} device${o.devices === 1 ? '' : 's'} for ${secs(runMs)}, ${where}`);
  out.push(...summaryTable(rows).map((l) => '  ' + l));
  out.push('');
  out.push(
    `QoS 1 alerts:    ${t.alertsSent} sent, ${t.alertsAcked} acknowledged, ${t.alertsReceived} received, ${t.alertsLost} lost` +
      (t.alertsRefused ? ` (${t.alertsRefused} refused by the client and never sent)` : ''),
  );
  out.push(
    `QoS 0 telemetry: ${t.telemetrySent} sent, ${t.telemetryReceived} received, ${t.telemetryLost} lost ` +
      `(QoS 0 may be lost by design${broker ? '; over loopback none should be' : ''})` +
      (t.telemetrySkipped ? `; ${t.telemetrySkipped} readings not sent while offline` : ''),
  );
  const disconnected = devices.filter((d) => d.client.connects === 0).map((d) => d.id);
  if (disconnected.length) out.push(`never connected: ${disconnected.join(', ')}`);
  const gaps = rows.reduce((n, r) => n + r.seen.gaps, 0);
  const dups = rows.reduce((n, r) => n + r.seen.duplicateAlerts, 0);
  if (gaps || dups || monitor.malformed || monitor.others) {
    out.push(
      `monitor: ${gaps} gaps in telemetry seq, ${dups} duplicate alerts (QoS 1 redelivery), ` +
        `${monitor.malformed} malformed payloads, ${monitor.others} messages of other devices`,
    );
  }
  out.push(
    `End: ${drained ? 'everything acknowledged and delivered' : `gave up waiting after ${secs(DRAIN_MS)}`} in ${Math.round(drainMs)} ms; ` +
      `clients disconnected${broker ? ' and broker closed' : ''} in ${Math.round(stopMs)} ms${brokerNote}.`,
  );
  code = t.alertsLost === 0 && disconnected.length === 0 ? 0 : 1;
  out.push(code === 0 ? 'OK: no QoS 1 message lost.' : `FAILED: ${t.alertsLost} QoS 1 alert(s) lost${disconnected.length ? ', devices never connected' : ''}.`);
  process.stdout.write(out.join('\n') + '\n');
  return code;
}
