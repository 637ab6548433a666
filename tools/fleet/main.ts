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
import { parseArgs } from 'node:util';
import { NodeHost } from '../../hosts/node/index.js';
import { statusName, validateTopic } from '../../src/index.js';
import { parseBroker } from '../sensors/main.js';
import { Screen, columns, secs, stopOnSignals } from '../sensors/view.js';
import { SetupError, embeddedAedes, filesNeeded, openFileLimit, spawnMosquitto, urlBroker, type FleetBroker } from './broker.js';
import { FleetDevice, HEADER_BYTES } from './device.js';
import { Histogram, ms } from './histogram.js';
import { DEVICES_PER_MONITOR, FleetMonitor, Reception } from './monitor.js';

export const USAGE = `Usage: npm run fleet [-- options]        (or: node tools/fleet.mjs [options])

A fleet of simulated devices, each a real xs-mqtt Client on the Node host (all in this process),
publishes to a broker at a fixed rate, each to its own topic, while monitor clients in this process
(one per ${DEVICES_PER_MONITOR} devices) subscribe to every device's topic. Each payload carries a sequence number and
the time of the publish() call, so the run counts what was sent, acknowledged, received and lost
and measures the latency from publish() to the subscriber's handler. A progress line every second;
a table at the end (Ctrl-C ends the run early, and still prints it). Exit code 0 when nothing was
lost at QoS 1 (QoS 0 may lose messages under overload: reported, not failed), 1 otherwise, 2 for
usage errors.

Options:
  --devices N        simulated devices (default 100)
  --rate R           messages per second per device, fractions allowed (default 1)
  --qos 0|1          QoS of the messages and of the monitors' subscriptions (default 1)
  --size B           payload bytes, ${HEADER_BYTES} or more (default 64)
  --duration S       seconds from the first connection to the end of publishing (default 60)
  --drain S          then at most this long for acknowledgements and deliveries in flight (default 5)
  --connect-rate N   devices started per second during the ramp-up (default 200)
  --broker B         default: a Mosquitto spawned for the run on a free 127.0.0.1 port (needs
                     /usr/sbin/mosquitto: sudo apt-get install -y mosquitto);
                     aedes: the Aedes broker inside this process;
                     mqtt://host[:port] or mqtts://host[:port] (user:password@ to log in): any broker
  --ca FILE          PEM CA certificate(s) for an mqtts:// broker (default: Node's CA store)
  --topic PREFIX     devices publish to PREFIX/dev-1 … PREFIX/dev-N (default fleet/<run-id>)
  --help             this text

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
  topic: string;
  help: boolean;
}

class UsageError extends Error {}

function number(name: string, v: string | undefined, dflt: number, min: number, max: number, integer: boolean): number {
  if (v === undefined) return dflt;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} in ${min}…${max}, not ${JSON.stringify(v)}`);
  }
  return n;
}

export function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        devices: { type: 'string' },
        rate: { type: 'string' },
        qos: { type: 'string' },
        size: { type: 'string' },
        duration: { type: 'string' },
        drain: { type: 'string' },
        'connect-rate': { type: 'string' },
        broker: { type: 'string' },
        ca: { type: 'string' },
        topic: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const o: Options = {
    devices: number('devices', values.devices, 100, 1, 100000, true),
    rate: number('rate', values.rate, 1, 0.001, 10000, false),
    qos: number('qos', values.qos, 1, 0, 1, true),
    size: number('size', values.size, 64, HEADER_BYTES, 65536, true),
    durationS: number('duration', values.duration, 60, 0.1, 7 * 86400, false),
    drainS: number('drain', values.drain, 5, 0, 3600, false),
    connectRate: number('connect-rate', values['connect-rate'], 200, 0.1, 100000, false),
    broker: values.broker ?? '',
    ca: values.ca ?? '',
    topic: values.topic ?? '',
    help: values.help ?? false,
  };
  if (o.ca && !o.broker.startsWith('mqtts:')) throw new UsageError('--ca goes with --broker mqtts://…');
  if (o.topic) {
    if (o.topic.endsWith('/')) throw new UsageError(`--topic: a prefix without the trailing /, e.g. ${JSON.stringify(o.topic.replace(/\/+$/, ''))}`);
    try {
      validateTopic(`${o.topic}/dev-1`);
    } catch (err) {
      throw new UsageError(`--topic: ${JSON.stringify(o.topic)} is not a topic prefix (${(err as Error).message})`);
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
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`fleet: ${err.message}\n(npm run fleet -- --help lists the options)\n`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const monitorCount = monitorsFor(o.devices);
  const kind = target ? 'url' : o.broker === 'aedes' ? 'aedes' : 'mosquitto';
  const limit = openFileLimit();
  const needed = filesNeeded(o.devices, monitorCount, kind);
  if (limit && needed > limit.soft) {
    let fit = o.devices;
    while (fit > 0 && filesNeeded(fit, monitorsFor(fit), kind) > limit.soft) fit--;
    process.stderr.write(
      `fleet: ${o.devices} devices need about ${needed} open files in this process${kind === 'aedes' ? ' (two sockets per client with the broker in-process)' : ''}, ` +
        `but the limit is ${limit.soft} (ulimit -n; Node raises it to the hard limit by itself).\n` +
        (limit.hard > limit.soft
          ? `Raise it in the shell that runs the fleet: ulimit -n ${Math.min(limit.hard, Math.max(needed, 4096))}\n`
          : `That is the hard limit too: raise that as root (ulimit -Hn ${Math.max(needed, 4096)} in a root shell, or nofile in /etc/security/limits.conf), then ulimit -n in the shell.\n`) +
        (fit > 0 ? `Or run fewer devices: --devices ${fit}\n` : ''),
    );
    return 2;
  }

  const screen = new Screen(process.stdout, process.stdout.isTTY === true);
  const log = (line: string) => screen.log(line);

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
  const prefix = o.topic || `fleet/${runId}`;
  const host = new NodeHost();
  const connectTimes = new Histogram();
  const latency = new Histogram();
  const recent = new Histogram(); // the latency of the last second, for the progress line
  const lag = new Histogram(); // how late the scheduler published, against each message's due time
  const reception = new Reception(runTag, latency, recent);
  const devices: FleetDevice[] = [];
  for (let i = 0; i < o.devices; i++) {
    devices.push(
      new FleetDevice(host, {
        index: i + 1,
        id: `dev-${i + 1}`,
        clientId: `fleet-${runId}-${i + 1}`,
        topic: `${prefix}/dev-${i + 1}`,
        qos: o.qos,
        size: o.size,
        rate: o.rate,
        runTag,
        link: broker.link,
        connectTimes,
      }),
    );
  }
  const monitors: FleetMonitor[] = [];
  for (let k = 0; k < monitorCount; k++) {
    monitors.push(
      new FleetMonitor(host, broker.link, {
        clientId: `fleet-${runId}-monitor-${k + 1}`,
        probeTopic: `${prefix}/monitor-${k + 1}/ready`,
        qos: o.qos,
        size: o.size,
        devices: devices.slice(k * DEVICES_PER_MONITOR, (k + 1) * DEVICES_PER_MONITOR),
        reception,
      }),
    );
  }

  log(
    `xs-mqtt fleet ${runId}: ${plural(o.devices, 'device')} × ${o.rate} msg/s, QoS ${o.qos}, ${o.size} B payloads, ` +
      `${o.durationS} s; ${plural(monitorCount, 'monitor')}; topics ${prefix}/dev-1 … dev-${o.devices}; broker: ${broker.label}`,
  );

  // The monitors first, so that they hear the devices' first messages.
  const tReady = performance.now();
  for (const m of monitors) m.start();
  let ready = false;
  while (!signals.requested() && performance.now() - tReady < READY_TIMEOUT_MS) {
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
  if (!ready) {
    if (signals.requested()) process.stderr.write(`fleet: ${signals.requested()} before the run began\n`);
    else {
      const errs = [...new Set(monitors.map((m) => [m.lastError, m.lastLinkError].filter(Boolean).join(': ')).filter(Boolean))];
      process.stderr.write(`fleet: the monitors were not connected and subscribed within ${READY_TIMEOUT_MS / 1000} s${errs.length ? ` (${errs.join(', ')})` : ''}\n`);
    }
  } else {
    const t0 = performance.now();
    let started = 0;
    const tick = () => {
      const now = performance.now();
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
          if (d.publish() && !firstSendMs) firstSendMs = now;
        }
        d.nextDueMs = due;
      }
    };
    const scheduler = setInterval(tick, TICK_MS);
    tick();

    let lastReceived = 0;
    let lastAt = t0;
    const progress = (last = false) => {
      const now = performance.now();
      const received = reception.received;
      const rate = ((received - lastReceived) * 1000) / Math.max(1, now - lastAt);
      lastReceived = received;
      lastAt = now;
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
      const line =
        `[${secs(now - t0).padStart(7)}] connected ${online}/${devices.length}  sent ${sent}` +
        (o.qos ? `  acked ${acked}` : '') +
        `  received ${received}  msg/s ${Math.round(rate)}  p99 ${ms(recent.quantile(0.99))} ms  reconnects ${reconnects}`;
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
    clearInterval(scheduler);
    clearInterval(live);
    clearTimeout(durationTimer);
    const tEnd = performance.now();
    runMs = tEnd - t0;
    for (const d of devices) d.stopPublishing();
    progress(true);
    log(`${signals.requested() ? `${signals.requested()}: ` : ''}stopped publishing after ${secs(runMs)}: waiting up to ${o.drainS} s for what is in flight…`);

    // The end: wait (bounded) until every QoS 1 message has its PUBACK and the monitors have
    // everything sent. QoS 0 messages lost stay lost: stop once nothing has arrived for a second.
    const complete = () => devices.every((d) => d.received.count >= d.sent && (o.qos === 0 || d.unacked === 0));
    const deadline = tEnd + o.drainS * 1000;
    for (;;) {
      const now = performance.now();
      if ((drained = complete())) break;
      if (now >= deadline) break;
      if (o.qos === 0 && now - Math.max(reception.lastAtMs, tEnd) > 1000) break;
      await sleep(10);
    }
    drainMs = performance.now() - tEnd;
    const steadySpanMs = reception.lastAtMs - (t0 + allConnectedMs);
    if (allConnectedMs >= 0 && steadySpanMs >= 1000) {
      steadyMsgsPerS = ((reception.received - receivedAtAllConnected) * 1000) / steadySpanMs;
    }
    code = 0;
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

  // ---- the table ----
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
  const received = reception.received;
  const spanMs = reception.lastAtMs - firstSendMs;
  const msgsPerS = received > 0 && spanMs > 0 ? received / (spanMs / 1000) : 0;
  const monitorDrops = monitors.reduce((n, m) => n + m.drops, 0);

  const rows: string[][] = [
    ['devices connected', `${connected}/${o.devices}`, `connect time p50 ${ms(connectTimes.quantile(0.5))} ms, p99 ${ms(connectTimes.quantile(0.99))} ms` +
      (allConnectedMs >= 0 ? `; all connected ${secs(allConnectedMs)} into the run` : '')],
    ['sent', String(sent), 'accepted by publish()'],
    ['acknowledged', o.qos ? String(acked) : '—', o.qos ? `PUBACKs${acked < sent ? ` (${sent - acked} never acknowledged)` : ''}` : 'QoS 0: no acknowledgements'],
    ['received', String(received), `distinct messages at the monitors${reception.duplicates ? ` (and ${reception.duplicates} duplicates: QoS 1 redeliveries)` : ''}`],
    ['lost', String(lost), `sent and not received: ${holes} holes in sequences, ${lost - holes} missing at the end`],
    ['reconnects', String(reconnects), `of devices` +
      (monitorDrops ? `; monitors: ${monitorDrops} connections lost or attempts failed (last: ${[...new Set(monitors.map((m) => m.lastError).filter(Boolean))].join(', ')})` : '')],
    ['latency p50/p99 (ms)', `${ms(latency.quantile(0.5))} / ${ms(latency.quantile(0.99))}`, `publish() → subscriber's handler; mean ${ms(latency.meanMs)}, max ${ms(latency.maxMs)}`],
    ['msgs/s', String(Math.round(msgsPerS)), `received, first publish → last receipt` +
      (steadyMsgsPerS >= 0 ? `; ${Math.round(steadyMsgsPerS)} once all were connected` : '') + `; offered ${+(o.devices * o.rate).toFixed(3)}`],
  ];
  if (refused) rows.push(['refused', String(refused), `publish() refused, not sent (${[...refusals].map(([k, n]) => `${k} ×${n}`).join(', ')})`]);
  const refusedSubscriptions = monitors.reduce((n, m) => n + m.refusedSubscriptions, 0);
  if (refusedSubscriptions) rows.push(['not subscribed', String(refusedSubscriptions), "devices whose topic the broker refused the monitors (SUBACK 0x80): their messages count as lost"]);
  if (reception.malformed) rows.push(['malformed', String(reception.malformed), 'payloads not of this run or of another device']);
  const out: string[] = [''];
  out.push(
    `Fleet ${runId}: ${plural(o.devices, 'device')} × ${o.rate} msg/s, QoS ${o.qos}, ${o.size} B, ${secs(runMs)}` +
      `${signals.requested() ? ` (${signals.requested()})` : ''}; ${broker.label}`,
  );
  out.push(...columns(rows, 'lrl').map((l) => '  ' + l));
  out.push('');
  const lagNote = lag.count
    ? `scheduler (a tick every ${TICK_MS} ms): publishes ${ms(lag.quantile(0.99))} ms after their due time at p99, max ${ms(lag.maxMs)} ms`
    : 'scheduler: nothing published';
  out.push(lagNote + (skipped ? `; ${skipped} sends skipped: this process fell more than ${MAX_LAG_MS / 1000} s behind` : ''));
  out.push(
    `End: ${drained ? 'everything acknowledged and delivered' : `gave up waiting for what was in flight`} in ${Math.round(drainMs)} ms; ` +
      `clients disconnected${broker.kind === 'url' ? '' : ' and broker stopped'} in ${Math.round(stopMs)} ms${purgeNote}.`,
  );
  const problems: string[] = [];
  if (connected < o.devices) problems.push(`${plural(o.devices - connected, 'device')} never connected`);
  if (sent === 0) problems.push('nothing was sent');
  if (o.qos === 1 && lost > 0) problems.push(`${plural(lost, 'QoS 1 message')} lost`);
  code = problems.length ? 1 : 0;
  if (code) out.push(`FAILED: ${problems.join(', ')}.`);
  else if (o.qos === 0) out.push(lost ? `OK at QoS 0: ${lost} lost (QoS 0 is at most once: reported, not failed).` : 'OK: nothing lost (QoS 0).');
  else out.push('OK: nothing lost at QoS 1.');
  process.stdout.write(out.join('\n') + '\n');
  return code;
}
