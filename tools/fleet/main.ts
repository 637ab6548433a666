// `npm run fleet`: N simulated devices — real Clients on the Node host, all in this process — publish
// at a fixed rate to their own topics on a broker, while monitor clients in the same process receive
// every message; at the end a table of what was sent, acknowledged, received and lost, the latency
// from publish() to the subscriber's handler, and the throughput. tools/fleet.mjs bundles this file
// with esbuild and calls main().
//
// Timers: one scheduler tick (every TICK_MS) starts devices during the ramp-up and publishes every
// message that is due, for all devices; one more prints the progress line. No timer per device
// (the clients keep their own keepalive timer each, as they must).
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { statusName, validateFilter, validateTopic } from '../../src/index.js';
import { negativeValues } from '../cli/common.js';
import { parseBroker } from '../sensors/main.js';
import { Screen, columns, secs, stopOnSignals } from '../sensors/view.js';
import { SetupError, embeddedAedes, filesNeeded, openFileLimit, spawnMosquitto, urlBroker, type FleetBroker } from './broker.js';
import { FleetDevice, HEADER_BYTES, topicFor } from './device.js';
import { Histogram, ms } from './histogram.js';
import { DEVICES_PER_MONITOR, FleetMonitor, Reception } from './monitor.js';
import { plotSvg, type Sample } from './plot.js';

export const USAGE = `Usage: npm run fleet [-- options]        (or: node tools/fleet.mjs [options])

A fleet of simulated devices, each a real xs-mqtt Client on the Node host (all in this process),
publishes to a broker at a fixed rate, each to its own topic, while monitor clients in this process
(one per ${DEVICES_PER_MONITOR} devices) subscribe to every device's topic. Each payload carries a sequence number and
the time of the publish() call, so the run counts what was sent, acknowledged, received and lost
and measures the latency from publish() to the subscriber's handler. A progress line every second;
a table at the end (Ctrl-C ends the run early, and still prints it). Exit code 0 when nothing was
lost at QoS 1 or 2 (QoS 0 may lose messages under overload: reported, not failed), 1 otherwise (also a
broker that refuses or cannot be reached: at once, with the reason), 2 for usage errors.

Options:
  --devices N        simulated devices (default 100)
  --rate R           messages per second per device, fractions allowed (default 1)
  --qos 0|1|2        QoS of the messages and of the monitors' subscriptions (default 1)
  --size B           payload bytes, ${HEADER_BYTES} or more (default 64)
  --duration S       seconds from the first connection to the end of publishing (default 60)
  --drain S          then at most this long for acknowledgements and deliveries in flight (default 5)
  --connect-rate N   devices started per second during the ramp-up (default 200)
  --broker B         default: a Mosquitto spawned for the run on a free 127.0.0.1 port (needs
                     /usr/sbin/mosquitto: sudo apt-get install -y mosquitto);
                     aedes: the Aedes broker inside this process;
                     mqtt://host[:port] or mqtts://host[:port] (user:password@ to log in): any broker
  --ca FILE          PEM CA certificate(s) for an mqtts:// broker (default: Node's CA store)
  -u, --username U   user name for --broker URL (or user@ in the URL)
  -P, --password P   its password (or user:password@ in the URL)
  --cert FILE        PEM client certificate for an mqtts:// broker (mutual TLS; with --key)
  --key FILE         PEM private key of --cert
  --mode M           both (default): devices publish and monitors receive, every message counted;
                     pub: devices only (sent, acknowledged, msgs/s sent);
                     sub: N subscribers only, each to the --topic template with its number, counting
                     whatever arrives (latency too for a fleet's payloads: --mode pub elsewhere on
                     this machine); needs --broker URL
  --topic T          a topic template, %i the device's number from 1 (default fleet/<run-id>/dev-%i;
                     with --mode sub, fleet/+/dev-%i: a --mode pub fleet of any run); a T without
                     %i is a prefix: T/dev-%i
  --json             the final report as one JSON document on stdout (the progress and the table
                     go to stderr)
  --plot FILE.svg    write the latency distribution and msgs/s over time as a self-contained SVG
  --help             this text

The scheduler warns (on stderr, and in the report) when this process falls behind the publish
interval: the figures then measure this machine, not the broker.

Each device and monitor holds a socket, so this process needs about one open file per device (two
with --broker aedes); it checks the limit (ulimit -n) before starting.
`;

export interface Options {
  devices: number;
  rate: number;
  qos: number;
  size: number;
  durationS: number;
  drainS: number;
  connectRate: number;
  broker: string;
  ca: string;
  /** The topic template as given ('': the default). */
  topic: string;
  mode: 'both' | 'pub' | 'sub';
  username: string | undefined;
  password: string | undefined;
  cert: string;
  key: string;
  json: boolean;
  plot: string;
  help: boolean;
}

class UsageError extends Error {}

/** The template with `%i`: a T without one is the prefix T/dev-%i; '' is the mode's default. */
export function topicTemplate(topic: string, mode: Options['mode'], runId: string): string {
  if (!topic) return mode === 'sub' ? 'fleet/+/dev-%i' : `fleet/${runId}/dev-%i`;
  return topic.includes('%i') ? topic : `${topic}/dev-%i`;
}

function number(name: string, v: string | undefined, dflt: number, min: number, max: number, integer: boolean): number {
  if (v === undefined) return dflt;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} in ${min}…${max}, not ${JSON.stringify(v)}`);
  }
  return n;
}

const OPTIONS = {
  devices: { type: 'string' },
  rate: { type: 'string' },
  qos: { type: 'string' },
  size: { type: 'string' },
  duration: { type: 'string' },
  drain: { type: 'string' },
  'connect-rate': { type: 'string' },
  broker: { type: 'string' },
  ca: { type: 'string' },
  username: { type: 'string', short: 'u' },
  password: { type: 'string', short: 'P' },
  cert: { type: 'string' },
  key: { type: 'string' },
  mode: { type: 'string' },
  topic: { type: 'string' },
  json: { type: 'boolean' },
  plot: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({ args: negativeValues(argv, OPTIONS), strict: true, allowPositionals: false, options: OPTIONS }));
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify .*$/s, ''));
  }
  const mode = values.mode ?? 'both';
  if (mode !== 'both' && mode !== 'pub' && mode !== 'sub') throw new UsageError(`--mode must be both, pub or sub, not ${JSON.stringify(mode)}`);
  const o: Options = {
    devices: number('devices', values.devices, 100, 1, 100000, true),
    rate: number('rate', values.rate, 1, 0.001, 10000, false),
    qos: number('qos', values.qos, 1, 0, 2, true),
    size: number('size', values.size, 64, HEADER_BYTES, 65536, true),
    durationS: number('duration', values.duration, 60, 0.1, 7 * 86400, false),
    drainS: number('drain', values.drain, 5, 0, 3600, false),
    connectRate: number('connect-rate', values['connect-rate'], 200, 0.1, 100000, false),
    broker: values.broker ?? '',
    ca: values.ca ?? '',
    topic: values.topic ?? '',
    mode,
    username: values.username,
    password: values.password,
    cert: values.cert ?? '',
    key: values.key ?? '',
    json: values.json ?? false,
    plot: values.plot ?? '',
    help: values.help ?? false,
  };
  const url = o.broker !== '' && o.broker !== 'aedes';
  if (o.ca && !o.broker.startsWith('mqtts:')) throw new UsageError('--ca goes with --broker mqtts://…');
  if ((o.cert || o.key) && !o.broker.startsWith('mqtts:')) throw new UsageError('--cert and --key go with --broker mqtts://…');
  if (!o.cert !== !o.key) throw new UsageError('--cert and --key go together');
  if ((o.username !== undefined || o.password !== undefined) && !url) throw new UsageError('-u and -P go with --broker mqtt://… or mqtts://…');
  if (o.password !== undefined && o.username === undefined) throw new UsageError('a password (-P) needs a user name (-u)');
  if (o.mode === 'sub' && !url) throw new UsageError('--mode sub needs --broker mqtt://… or mqtts://…: a broker others publish to');
  if (o.plot && !o.plot.endsWith('.svg')) throw new UsageError(`--plot: the file is an SVG: a name ending in .svg, not ${JSON.stringify(o.plot)}`);
  if (o.topic) {
    if (o.topic.endsWith('/')) throw new UsageError(`--topic: a prefix without the trailing /, e.g. ${JSON.stringify(o.topic.replace(/\/+$/, ''))}`);
    const t = topicFor(topicTemplate(o.topic, o.mode, 'run'), 1);
    try {
      if (o.mode === 'sub') validateFilter(t);
      else validateTopic(t);
    } catch (err) {
      throw new UsageError(`--topic: ${JSON.stringify(o.topic)} is not a ${o.mode === 'sub' ? 'topic filter' : 'topic'} template (${(err as Error).message})`);
    }
  }
  const rampS = (o.devices - 1) / o.connectRate;
  if (rampS >= o.durationS) {
    throw new UsageError(
      `--connect-rate ${o.connectRate} takes ${rampS.toFixed(1)} s to start ${o.devices} devices, longer than --duration ${o.durationS}: raise one or the other`,
    );
  }
  return o;
}

function readPem(option: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${option}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** How often the scheduler runs: it publishes every message due since its last run. */
const TICK_MS = 5;
/** A device more than this behind its schedule (the process could not keep up) skips the messages missed. */
const MAX_LAG_MS = 1000;
/** How long the monitors may take to connect and subscribe. */
const READY_TIMEOUT_MS = 10000;

function monitorsFor(devices: number): number {
  return Math.ceil(devices / DEVICES_PER_MONITOR);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The scheduler is behind when, in a second, the median publish went out later than one interval
 * after it was due, and at least this late (a tick's burst and a stall of the event loop are not
 * falling behind; the median is, when most messages of a second are late).
 */
const BEHIND_MIN_MS = 20;

/** The final report, as --json prints it (and the table shows). Counts not measured in a mode are null. */
export interface Report {
  runId: string;
  mode: Options['mode'];
  broker: string;
  topic: string;
  qos: number;
  sizeBytes: number;
  ratePerDevice: number;
  durationS: number;
  interrupted: string | null;
  devices: { total: number; connected: number; connectMsP50: number | null; connectMsP99: number | null; allConnectedS: number | null };
  sent: number | null;
  acknowledged: number | null;
  refused: number | null;
  received: number | null;
  duplicates: number | null;
  lost: number | null;
  reconnects: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number } | null;
  msgsPerS: { offered: number | null; sent: number | null; received: number | null; steady: number | null };
  scheduler: { lagMsP99: number | null; lagMsMax: number | null; skipped: number; behindSeconds: number; behind: boolean };
  drained: boolean;
  ok: boolean;
  problems: string[];
}

/** Runs the fleet; resolves to the exit code (0: nothing lost at QoS 1; 1: lost, or no connection; 2: usage). */
export async function main(argv: string[]): Promise<number> {
  let o: Options;
  let target: ReturnType<typeof parseBroker> | null = null;
  try {
    o = parseOptions(argv);
    if (o.broker && o.broker !== 'aedes') {
      try {
        target = parseBroker(o.broker, o.ca);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      if (o.username !== undefined) {
        if (target.username !== undefined) throw new UsageError('--broker user@ and -u both give the user name: use one');
        target.username = o.username;
        target.password = o.password;
      }
      if (o.cert) {
        target.tls = { ...target.tls, cert: readPem('--cert', o.cert), key: readPem('--key', o.key) };
      }
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`fleet: ${err.message} (npm run fleet -- --help lists the options)\n`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const publishing = o.mode !== 'sub';
  const deviceCount = publishing ? o.devices : 0;
  const monitorCount = o.mode === 'both' ? monitorsFor(o.devices) : o.mode === 'sub' ? o.devices : 0;
  const kind = target ? 'url' : o.broker === 'aedes' ? 'aedes' : 'mosquitto';
  const limit = openFileLimit();
  const needed = filesNeeded(deviceCount, monitorCount, kind);
  if (limit && needed > limit.soft) {
    let fit = o.devices;
    const need = (n: number) => filesNeeded(publishing ? n : 0, o.mode === 'both' ? monitorsFor(n) : o.mode === 'sub' ? n : 0, kind);
    while (fit > 0 && need(fit) > limit.soft) fit--;
    process.stderr.write(
      `fleet: ${o.devices} ${publishing ? 'devices' : 'subscribers'} need about ${needed} open files in this process${kind === 'aedes' ? ' (two sockets per client with the broker in-process)' : ''}, ` +
        `but the limit is ${limit.soft} (ulimit -n; Node raises it to the hard limit by itself).\n` +
        (limit.hard > limit.soft
          ? `Raise it in the shell that runs the fleet: ulimit -n ${Math.min(limit.hard, Math.max(needed, 4096))}\n`
          : `That is the hard limit too: raise that as root (ulimit -Hn ${Math.max(needed, 4096)} in a root shell, or nofile in /etc/security/limits.conf), then ulimit -n in the shell.\n`) +
        (fit > 0 ? `Or run fewer devices: --devices ${fit}\n` : ''),
    );
    return 2;
  }

  // With --json, stdout carries the report only: the progress and the table go to stderr.
  const human = o.json ? process.stderr : process.stdout;
  const screen = new Screen(human, human.isTTY === true);
  const log = (line: string) => screen.log(line);
  const warn = (line: string) => {
    screen.clear();
    process.stderr.write(line + '\n');
  };

  // Ctrl-C or SIGTERM ends the run, with the table (a second one, a moment later, ends the process).
  const signals = stopOnSignals('fleet', 'without the table');
  const stopped = signals.stopped;
  const unhook = signals.unhook;

  let broker: FleetBroker;
  try {
    if (target) broker = urlBroker({ host: target.host, port: target.port, tls: target.tls, username: target.username, password: target.password }, target.label);
    else if (o.broker === 'aedes') broker = await embeddedAedes();
    else broker = await spawnMosquitto();
  } catch (err) {
    unhook();
    if (!(err instanceof SetupError)) throw err;
    process.stderr.write(`fleet: ${err.message}\n`);
    return 1;
  }

  const runId = randomBytes(3).toString('hex');
  const runTag = randomBytes(4).readUInt32LE(0);
  const template = topicTemplate(o.topic, o.mode, runId);
  const connectTimes = new Histogram();
  const latency = new Histogram();
  const recent = new Histogram(); // the latency of the last second, for the progress line
  const lag = new Histogram(); // how late the scheduler published, against each message's due time
  const recentLag = new Histogram(); // the same, for the last second: is the scheduler keeping up?
  const reception = new Reception(runTag, latency, recent);
  const devices: FleetDevice[] = [];
  for (let i = 0; i < deviceCount; i++) {
    devices.push(
      new FleetDevice({
        index: i + 1,
        id: `dev-${i + 1}`,
        clientId: `fleet-${runId}-${i + 1}`,
        topic: topicFor(template, i + 1),
        qos: o.qos,
        size: o.size,
        rate: o.rate,
        runTag,
        link: broker.link,
        label: broker.label,
        connectTimes,
      }),
    );
  }
  // The monitors' probes go under the template's fixed head (site/%i/data: site/…), where a broker's
  // ACL lets the fleet publish; a head with a wildcard, or none, gives fleet/<run-id>/….
  const head = template.slice(0, template.indexOf('%i')).replace(/\/?[^/]*$/, '');
  const probeBase = head && !/[+#]/.test(head) ? head : `fleet/${runId}`;
  const monitors: FleetMonitor[] = [];
  for (let k = 0; k < monitorCount; k++) {
    const sub = o.mode === 'sub';
    monitors.push(
      new FleetMonitor(broker.link, {
        clientId: `fleet-${runId}-${sub ? 'sub' : 'monitor'}-${k + 1}`,
        probeTopic: `${probeBase}/${sub ? 'sub' : 'monitor'}-${runId}-${k + 1}/ready`,
        qos: o.qos,
        size: o.size,
        devices: sub ? [] : devices.slice(k * DEVICES_PER_MONITOR, (k + 1) * DEVICES_PER_MONITOR),
        filter: sub ? topicFor(template, k + 1) : undefined,
        reception,
        label: broker.label,
      }),
    );
  }

  const who = publishing ? `${plural(o.devices, 'device')} × ${o.rate} msg/s` : plural(o.devices, 'subscriber');
  const first = topicFor(template, 1);
  const last = topicFor(template, o.devices);
  log(
    `xs-mqtt fleet ${runId}${o.mode === 'both' ? '' : ` (--mode ${o.mode})`}: ${who}, QoS ${o.qos}${publishing ? `, ${o.size} B payloads` : ''}, ` +
      `${o.durationS} s${o.mode === 'both' ? `; ${plural(monitorCount, 'monitor')}` : ''}; ${o.mode === 'sub' ? 'filters' : 'topics'} ${first}${o.devices > 1 ? ` … ${last}` : ''}; broker: ${broker.label}`,
  );

  // The monitors first, so that they hear the devices' first messages. A first connection that
  // fails (refused, or no link) ends the run at once with the reason: there is nothing to wait for.
  const fatal = () => monitors.find((m) => m.fatal)?.fatal ?? devices.find((d) => d.fatal)?.fatal ?? '';
  const tReady = performance.now();
  for (const m of monitors) m.start();
  let ready = false;
  while (!signals.requested() && !fatal() && performance.now() - tReady < READY_TIMEOUT_MS) {
    for (const m of monitors) m.probe();
    if ((ready = monitors.every((m) => m.ready))) break;
    await sleep(50);
  }

  let code = 1;
  let runMs = 0;
  let drainMs = 0;
  let drained = false;
  let firstSendMs = 0;
  let skipped = 0;
  let allConnectedMs = -1;
  let receivedAtAllConnected = 0;
  let steadyMsgsPerS = -1; // received per second from the end of the ramp-up to the last receipt
  let behindSeconds = 0;
  let fatalStop = false;
  let t0 = 0;
  const samples: Sample[] = [];
  if (!ready) {
    if (fatal()) process.stderr.write(`fleet: ${fatal()}\n`);
    else if (signals.requested()) process.stderr.write(`fleet: ${signals.requested()} before the run began\n`);
    else {
      const errs = [...new Set(monitors.map((m) => [m.lastError, m.lastLinkError].filter(Boolean).join(': ')).filter(Boolean))];
      process.stderr.write(`fleet: the monitors were not connected and subscribed within ${READY_TIMEOUT_MS / 1000} s${errs.length ? ` (${errs.join(', ')})` : ''}\n`);
    }
  } else {
    t0 = performance.now();
    let started = 0;
    const tick = () => {
      const now = performance.now();
      // --mode pub has no monitors to find out first: a device's first connection that fails while
      // none has connected ends the run the same way.
      if (o.mode === 'pub' && !fatalStop && fatal() && !devices.some((d) => d.client.connects > 0)) {
        fatalStop = true;
        signals.stop();
      }
      if (started < devices.length) {
        const want = Math.min(devices.length, Math.floor(((now - t0) * o.connectRate) / 1000) + 1);
        while (started < want) devices[started++].start();
      } else if (allConnectedMs < 0 && devices.every((d) => d.client.connects > 0)) {
        allConnectedMs = now - t0;
        receivedAtAllConnected = reception.received;
        log(`ramp-up: ${plural(devices.length, 'device')} connected in ${secs(allConnectedMs)}`);
      }
      for (const d of devices) {
        if (!d.active || d.nextDueMs > now) continue;
        const period = d.periodMs;
        let due = d.nextDueMs;
        if (now - due > MAX_LAG_MS) {
          const n = Math.floor((now - due) / period);
          skipped += n;
          due += n * period;
        }
        for (; due <= now; due += period) {
          lag.record(now - due);
          recentLag.record(now - due);
          if (d.publish() && !firstSendMs) firstSendMs = now;
        }
        d.nextDueMs = due;
      }
    };
    const scheduler = publishing ? setInterval(tick, TICK_MS) : null;
    if (publishing) tick();
    else allConnectedMs = 0; // the subscribers are all connected: that is what ready means

    const periodMs = 1000 / o.rate;
    const behindMs = Math.max(periodMs, BEHIND_MIN_MS);
    let lastReceived = 0;
    let lastSent = 0;
    let lastSkipped = 0;
    let lastAt = t0;
    const progress = (last = false) => {
      const now = performance.now();
      const received = reception.received;
      const span = Math.max(1, now - lastAt);
      const rate = ((received - lastReceived) * 1000) / span;
      let online = 0;
      let sent = 0;
      let acked = 0;
      let reconnects = 0;
      for (const d of devices) {
        if (d.client.online) online++;
        sent += d.sent;
        acked += d.acked;
        reconnects += Math.max(0, d.client.connects - 1);
      }
      for (const m of monitors) if (o.mode === 'sub' && m.client.online) online++;
      const sentRate = ((sent - lastSent) * 1000) / span;
      samples.push({ tS: (now - t0) / 1000, received: rate, sent: sentRate });
      // Falling behind: most of a second's publishes late by more than the interval (and BEHIND_MIN_MS), or skipped.
      const lateMs = recentLag.count ? recentLag.quantile(0.5) : 0;
      if (!last && (lateMs > behindMs || skipped > lastSkipped)) {
        behindSeconds++;
        if (behindSeconds === 1) {
          warn(
            `fleet: WARNING: the scheduler is falling behind: publishes go out ${ms(lateMs)} ms after their due time (median of the last second)` +
              `${skipped > lastSkipped ? `, ${skipped - lastSkipped} skipped` : ''}, against a ${ms(periodMs)} ms interval per device. ` +
              `This process cannot offer ${+(o.devices * o.rate).toFixed(3)} msg/s: the figures measure this machine, not the broker. ` +
              'Run fewer devices or a lower --rate, or several fleets in parallel.',
          );
        }
      }
      recentLag.reset();
      lastSkipped = skipped;
      lastReceived = received;
      lastSent = sent;
      lastAt = now;
      const line =
        `[${secs(now - t0).padStart(7)}] ${o.mode === 'sub' ? 'subscribed' : 'connected'} ${online}/${o.devices}` +
        (publishing ? `  sent ${sent}` : '') +
        (publishing && o.qos ? `  acked ${acked}` : '') +
        (o.mode !== 'pub' ? `  received ${received}  msg/s ${Math.round(rate)}  p99 ${ms(recent.quantile(0.99))} ms` : `  msg/s ${Math.round(sentRate)}`) +
        `  reconnects ${reconnects}${behindSeconds ? '  BEHIND' : ''}`;
      recent.reset();
      if (screen.tty && !last) screen.table([line + '   Ctrl-C to stop']);
      else {
        screen.clear(); // the line redrawn in place (a terminal), replaced by the last one for good
        log(line);
      }
    };
    const live = setInterval(progress, 1000);
    const durationTimer = setTimeout(signals.stop, o.durationS * 1000);
    await stopped;
    if (scheduler) clearInterval(scheduler);
    clearInterval(live);
    clearTimeout(durationTimer);
    const tEnd = performance.now();
    runMs = tEnd - t0;
    for (const d of devices) d.stopPublishing();
    if (!fatalStop) progress(true);
    if (o.mode !== 'sub' && !fatalStop) {
      log(`${signals.requested() ? `${signals.requested()}: ` : ''}stopped publishing after ${secs(runMs)}: waiting up to ${o.drainS} s for what is in flight…`);
    }

    // The end: wait (bounded) until every QoS 1 message has its PUBACK and the monitors have
    // everything sent. QoS 0 messages lost stay lost: stop once nothing has arrived for a second.
    const received = (d: FleetDevice) => o.mode === 'pub' || d.received.count >= d.sent;
    const complete = () => devices.every((d) => received(d) && (o.qos === 0 || d.unacked === 0));
    const deadline = tEnd + o.drainS * 1000;
    for (;;) {
      if (o.mode === 'sub' || fatalStop) break;
      const now = performance.now();
      if ((drained = complete())) break;
      if (now >= deadline) break;
      if (o.qos === 0 && o.mode === 'both' && now - Math.max(reception.lastAtMs, tEnd) > 1000) break;
      await sleep(10);
    }
    drainMs = performance.now() - tEnd;
    if (fatalStop) {
      screen.clear();
      process.stderr.write(`fleet: ${fatal()}\n`);
    }
    const steadySpanMs = reception.lastAtMs - (t0 + allConnectedMs);
    if (allConnectedMs >= 0 && steadySpanMs >= 1000) {
      steadyMsgsPerS = ((reception.received - receivedAtAllConnected) * 1000) / steadySpanMs;
    }
    code = fatalStop ? 1 : 0;
  }

  // Clean DISCONNECTs; the monitors' persistent sessions removed from a broker that outlives us.
  const tStop = performance.now();
  for (const d of devices) d.stop();
  for (const m of monitors) m.stop();
  let purgeNote = '';
  if (broker.kind === 'url' && monitors.some((m) => m.client.connects > 0)) {
    const purged = await Promise.all(monitors.map((m) => m.purge(3000)));
    const left = purged.filter((ok) => !ok).length;
    if (left) purgeNote = `; ${plural(left, 'monitor session')} could not be removed from the broker`;
  }
  await broker.close(1000);
  const stopMs = performance.now() - tStop;
  unhook();
  if (code !== 0) return 1;

  // ---- the report ----
  let sent = 0;
  let acked = 0;
  let refused = 0;
  let lost = 0;
  let holes = 0;
  let reconnects = 0;
  let connected = 0;
  const refusals = new Map<string, number>();
  for (const d of devices) {
    sent += d.sent;
    acked += d.acked;
    refused += d.refused;
    for (const [status, n] of d.refusals) refusals.set(statusName(status), (refusals.get(statusName(status)) ?? 0) + n);
    lost += Math.max(0, d.sent - d.received.count);
    holes += d.received.gaps;
    reconnects += Math.max(0, d.client.connects - 1);
    if (d.client.connects > 0) connected++;
  }
  if (o.mode === 'sub') {
    for (const m of monitors) {
      if (m.client.connects > 0) connected++;
      reconnects += Math.max(0, m.client.connects - 1);
    }
  }
  const received = reception.received;
  const lastEventMs = o.mode === 'pub' ? t0 + runMs : reception.lastAtMs;
  const spanMs = lastEventMs - (o.mode === 'sub' ? t0 : firstSendMs);
  const msgsPerS = received > 0 && spanMs > 0 ? received / (spanMs / 1000) : 0;
  const sentPerS = sent > 0 && spanMs > 0 ? sent / (spanMs / 1000) : 0;
  const monitorDrops = monitors.reduce((n, m) => n + m.drops, 0);
  const refusedSubscriptions = monitors.reduce((n, m) => n + m.refusedSubscriptions, 0);
  const measured = (h: Histogram, q: number) => (h.count ? +h.quantile(q).toFixed(3) : null);

  const problems: string[] = [];
  if (connected < o.devices) problems.push(`${plural(o.devices - connected, publishing ? 'device' : 'subscriber')} never connected`);
  if (publishing && sent === 0) problems.push('nothing was sent');
  if (o.mode === 'both' && o.qos > 0 && lost > 0) problems.push(`${plural(lost, `QoS ${o.qos} message`)} lost`);
  if (o.mode === 'pub' && o.qos > 0 && acked < sent) problems.push(`${plural(sent - acked, `QoS ${o.qos} message`)} never acknowledged`);
  const report: Report = {
    runId,
    mode: o.mode,
    broker: broker.label,
    topic: template,
    qos: o.qos,
    sizeBytes: o.size,
    ratePerDevice: o.rate,
    durationS: +(runMs / 1000).toFixed(3),
    interrupted: signals.requested() || null,
    devices: {
      total: o.devices,
      connected,
      connectMsP50: measured(connectTimes, 0.5),
      connectMsP99: measured(connectTimes, 0.99),
      allConnectedS: allConnectedMs >= 0 && publishing ? +(allConnectedMs / 1000).toFixed(3) : null,
    },
    sent: publishing ? sent : null,
    acknowledged: publishing && o.qos ? acked : null,
    refused: publishing ? refused : null,
    received: o.mode === 'pub' ? null : received,
    duplicates: o.mode === 'pub' ? null : reception.duplicates,
    lost: o.mode === 'both' ? lost : null,
    reconnects,
    latencyMs: latency.count
      ? { p50: measured(latency, 0.5)!, p90: measured(latency, 0.9)!, p99: measured(latency, 0.99)!, max: +latency.maxMs.toFixed(3), mean: +latency.meanMs.toFixed(3) }
      : null,
    msgsPerS: {
      offered: publishing ? +(o.devices * o.rate).toFixed(3) : null,
      sent: publishing ? Math.round(sentPerS) : null,
      received: o.mode === 'pub' ? null : Math.round(msgsPerS),
      steady: o.mode === 'both' && steadyMsgsPerS >= 0 ? Math.round(steadyMsgsPerS) : null,
    },
    scheduler: { lagMsP99: measured(lag, 0.99), lagMsMax: lag.count ? +lag.maxMs.toFixed(3) : null, skipped, behindSeconds, behind: behindSeconds > 0 },
    drained: o.mode === 'sub' ? true : drained,
    ok: problems.length === 0,
    problems,
  };

  const rows: string[][] = [
    publishing
      ? ['devices connected', `${connected}/${o.devices}`, `connect time p50 ${ms(connectTimes.quantile(0.5))} ms, p99 ${ms(connectTimes.quantile(0.99))} ms` +
        (allConnectedMs >= 0 ? `; all connected ${secs(allConnectedMs)} into the run` : '')]
      : ['subscribers', `${connected}/${o.devices}`, `connected and subscribed in ${secs(t0 - tReady)}`],
  ];
  if (publishing) {
    rows.push(['sent', String(sent), 'accepted by publish()']);
    rows.push(['acknowledged', o.qos ? String(acked) : '—', o.qos ? `${o.qos === 2 ? 'PUBCOMPs' : 'PUBACKs'}${acked < sent ? ` (${sent - acked} never acknowledged)` : ''}` : 'QoS 0: no acknowledgements']);
  }
  if (o.mode !== 'pub') {
    rows.push(['received', String(received), `${o.mode === 'sub' ? 'messages at the subscribers' : 'distinct messages at the monitors'}${reception.duplicates ? ` (and ${reception.duplicates} duplicates: QoS 1 redeliveries)` : ''}`]);
  }
  if (o.mode === 'both') rows.push(['lost', String(lost), `sent and not received: ${holes} holes in sequences, ${lost - holes} missing at the end`]);
  rows.push(['reconnects', String(reconnects), (publishing ? 'of devices' : 'of subscribers') +
    (monitorDrops ? `; ${o.mode === 'sub' ? 'subscribers' : 'monitors'}: ${monitorDrops} connections lost or attempts failed (last: ${[...new Set(monitors.map((m) => m.lastError).filter(Boolean))].join(', ')})` : '')]);
  if (o.mode !== 'pub') {
    rows.push(['latency p50/p99 (ms)', `${ms(latency.quantile(0.5))} / ${ms(latency.quantile(0.99))}`,
      latency.count ? `publish() → subscriber's handler; mean ${ms(latency.meanMs)}, max ${ms(latency.maxMs)}` : 'no fleet payloads received: not measured']);
    rows.push(['msgs/s', String(Math.round(msgsPerS)), o.mode === 'sub' ? 'received, start → last receipt' : `received, first publish → last receipt` +
      (steadyMsgsPerS >= 0 ? `; ${Math.round(steadyMsgsPerS)} once all were connected` : '') + `; offered ${+(o.devices * o.rate).toFixed(3)}`]);
  } else {
    rows.push(['msgs/s', String(Math.round(sentPerS)), `sent, first publish → end; offered ${+(o.devices * o.rate).toFixed(3)}`]);
  }
  if (refused) rows.push(['refused', String(refused), `publish() refused, not sent (${[...refusals].map(([k, n]) => `${k} ×${n}`).join(', ')})`]);
  if (refusedSubscriptions) rows.push(['not subscribed', String(refusedSubscriptions), "subscriptions the broker refused (SUBACK 0x80): their messages count as lost"]);
  if (reception.malformed) rows.push(['malformed', String(reception.malformed), 'payloads not of this run or of another device']);
  const out: string[] = [''];
  const title =
    `Fleet ${runId}${o.mode === 'both' ? '' : ` (--mode ${o.mode})`}: ${who}, QoS ${o.qos}${publishing ? `, ${o.size} B` : ''}, ${secs(runMs)}` +
    `${signals.requested() ? ` (${signals.requested()})` : ''}`;
  out.push(`${title}; ${broker.label}`);
  out.push(...columns(rows, 'lrl').map((l) => '  ' + l));
  out.push('');
  if (publishing) {
    const lagNote = lag.count
      ? `scheduler (a tick every ${TICK_MS} ms): publishes ${ms(lag.quantile(0.99))} ms after their due time at p99, max ${ms(lag.maxMs)} ms`
      : 'scheduler: nothing published';
    out.push(lagNote + (skipped ? `; ${skipped} sends skipped: this process fell more than ${MAX_LAG_MS / 1000} s behind` : ''));
    if (behindSeconds) {
      out.push(`WARNING: the scheduler fell behind the publish interval in ${plural(behindSeconds, 'second')} of the run: the figures measure this machine, not the broker.`);
    }
  }
  out.push(
    `End: ${o.mode === 'sub' ? '' : `${drained ? 'everything acknowledged and delivered' : 'gave up waiting for what was in flight'} in ${Math.round(drainMs)} ms; `}` +
      `clients disconnected${broker.kind === 'url' ? '' : ' and broker stopped'} in ${Math.round(stopMs)} ms${purgeNote}.`,
  );
  code = problems.length ? 1 : 0;
  if (code) out.push(`FAILED: ${problems.join(', ')}.`);
  else if (o.mode === 'sub') out.push(`OK: ${plural(received, 'message')} received.`);
  else if (o.mode === 'pub') out.push(o.qos ? `OK: every message acknowledged (QoS ${o.qos}).` : 'OK: every message sent (QoS 0).');
  else if (o.qos === 0) out.push(lost ? `OK at QoS 0: ${lost} lost (QoS 0 is at most once: reported, not failed).` : 'OK: nothing lost (QoS 0).');
  else out.push(`OK: nothing lost at QoS ${o.qos}.`);
  if (o.plot) {
    try {
      writeFileSync(
        o.plot,
        plotSvg({ title, subtitle: `${broker.label}; ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`, latency, samples, mode: o.mode }),
      );
      out.push(`plot: ${o.plot}`);
    } catch (err) {
      out.push(`plot: cannot write ${o.plot}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      code = 1;
    }
  }
  human.write(out.join('\n') + '\n');
  if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  return code;
}
