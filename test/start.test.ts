// `npm start` (tools/start.mjs → tools/sensors/main.ts) run as a child process, as a user runs it:
// simulated devices and a monitor against the embedded broker, ended by --duration, with a summary
// that accounts for every message; and against a broker of the test's own (--broker), to which the
// test sends a device a command.
import { describe, expect, it } from 'vitest';
import { run, type Run } from './spawn.js';
import { Client } from '../src/index.js';
import { NodeHost } from '../hosts/node/index.js';
import { startAedes } from './brokers/aedes.js';
import { startMosquitto } from './brokers/mosquitto.js';
import { freePort } from './brokers/free-port.js';
import type { Message } from '../src/index.js';

const root = new URL('..', import.meta.url).pathname;

function start(args: string[], timeoutMs = 30000): Promise<Run> {
  return run(process.execPath, [root + 'tools/start.mjs', ...args], { cwd: root, timeoutMs, name: `tools/start.mjs ${args.join(' ')}` });
}

interface Counts {
  telemetrySent: number;
  telemetryReceived: number;
  telemetryLost: number;
  alertsSent: number;
  alertsAcked: number;
  alertsReceived: number;
  alertsLost: number;
}

/** A row of the summary table: `total` or a device id, then its seven counts. */
function row(out: string, name: string): Counts {
  const m = new RegExp(`^\\s*${name}((?:\\s+\\d+){7})\\s*$`, 'm').exec(out);
  if (!m) throw new Error(`no "${name}" row in the summary:\n${out}`);
  const [telemetrySent, telemetryReceived, telemetryLost, alertsSent, alertsAcked, alertsReceived, alertsLost] = m[1].trim().split(/\s+/).map(Number);
  return { telemetrySent, telemetryReceived, telemetryLost, alertsSent, alertsAcked, alertsReceived, alertsLost };
}

function expectNothingLost(c: Counts): void {
  expect(c.telemetryReceived).toBe(c.telemetrySent); // QoS 0 over loopback
  expect(c.telemetryLost).toBe(0);
  expect(c.alertsAcked).toBe(c.alertsSent);
  expect(c.alertsReceived).toBe(c.alertsSent);
  expect(c.alertsLost).toBe(0);
}

describe('npm start', () => {
  it.concurrent('runs 3 devices for 3 s on the embedded broker and accounts for every message', async () => {
    const r = await start(['--duration', '3', '--devices', '3', '--interval', '200', '--alert-every', '5']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/embedded Aedes on mqtt:\/\/127\.0\.0\.1:\d+/);
    expect(r.out).toContain('Summary: 3 devices for 3.0 s');
    const total = row(r.out, 'total');
    expect(total.telemetrySent).toBeGreaterThanOrEqual(3 * 10); // 3 devices × ~15 readings
    expect(total.alertsSent).toBeGreaterThanOrEqual(3); // every 5th reading of each device, at least
    expectNothingLost(total);
    for (const id of ['dev-1', 'dev-2', 'dev-3']) {
      const d = row(r.out, id);
      expect(d.telemetrySent).toBeGreaterThanOrEqual(10);
      expect(d.alertsSent).toBeGreaterThanOrEqual(1);
      expectNothingLost(d);
    }
    expect(r.out).toMatch(/^QoS 1 alerts: +\d+ sent, \d+ acknowledged, \d+ received, 0 lost$/m);
    expect(r.out).toMatch(/^End: everything acknowledged and delivered in \d+ ms; clients disconnected and broker closed in \d+ ms\.$/m);
    expect(r.out).toContain('OK: no QoS 1 message lost.');
  });

  it.concurrent('alerts when the temperature crosses the threshold', async () => {
    // Every simulated room starts at 20–22 °C: with the threshold at 0 each device alerts `high`
    // on its first reading, once, and never falls back below it.
    const r = await start(['--duration', '1', '--devices', '2', '--interval', '100', '--threshold', '0']);
    expect(r.code).toBe(0);
    const total = row(r.out, 'total');
    expect(total.alertsSent).toBe(2);
    expectNothingLost(total);
  });

  it.concurrent('uses a broker given with --broker, and a device obeys cmd/interval', async () => {
    const aedes = await startAedes();
    const host = new NodeHost();
    const probe = new Client(host, { host: '127.0.0.1', port: aedes.port, clientId: `start-test-${process.pid}`, keepAliveSec: 30 });
    try {
      let online = false;
      probe.subscribe('devices/dev-1/status', 1, (m) => {
        if (m.text === 'online') online = true;
      });
      probe.start();
      const run = start(['--broker', `mqtt://127.0.0.1:${aedes.port}`, '--devices', '2', '--interval', '1000', '--duration', '4']);
      // dev-1 says `online` after subscribing to its commands: from then on it hears them.
      const until = performance.now() + 15000;
      while (!online && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(online).toBe(true);
      expect(probe.publish('devices/dev-1/cmd/interval', '100', 1)).toBeGreaterThan(0);
      const r = await run;
      expect(r.code).toBe(0);
      expect(r.out).toContain(`broker: mqtt://127.0.0.1:${aedes.port}`);
      expect(r.out).toContain('dev-1: interval 1000 → 100 ms (command)');
      expect(r.out).toMatch(/^\[ +3\.0 s\] telemetry \d+ sent \/ \d+ received, alerts/m); // the live line
      const dev1 = row(r.out, 'dev-1');
      const dev2 = row(r.out, 'dev-2');
      expect(dev1.telemetrySent).toBeGreaterThanOrEqual(20); // ~35 readings at 100 ms
      expect(dev2.telemetrySent).toBeLessThanOrEqual(6); // ~4 readings at 1000 ms
      expectNothingLost(dev1);
      expectNothingLost(dev2);
    } finally {
      probe.stop();
      await aedes.stop();
    }
  });

  it('a usage error is one line and a pointer to --help, exit code 2; a negative number gets the range', async () => {
    const cases: Array<[string[], string]> = [
      [['--devices', '0'], 'start: --devices must be an integer in 1…10000, not "0" (npm start -- --help lists the options)\n'],
      [['--interval', '-5'], 'start: --interval must be an integer in 10…3600000, not "-5" (npm start -- --help lists the options)\n'],
      [['--bogus'], "start: Unknown option '--bogus' (npm start -- --help lists the options)\n"],
      [['--prefix', 'devices/'], 'start: --prefix: a prefix without the trailing /, e.g. "devices" (npm start -- --help lists the options)\n'],
    ];
    for (const [args, err] of cases) {
      const r = await start(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toBe(err);
    }
    const help = await start(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('--broker URL');
    expect(help.out).toContain('--prefix P');
    expect(help.out).toContain('--retain-status');
  });

  it.concurrent('--broker: a refused connection and a name that does not resolve end the run at once with the host\'s reason', async () => {
    const port = await freePort(); // nothing listens there
    const refused = await start(['--broker', `mqtt://127.0.0.1:${port}`, '--duration', '5']);
    expect(refused.code).toBe(1);
    expect(refused.err).toBe(`start: cannot connect to mqtt://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
    expect(refused.ms).toBeLessThan(8000); // not the 10 s wait
    const unknown = await start(['--broker', 'mqtt://no-such-host.invalid:1883', '--duration', '5']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^start: cannot connect to mqtt:\/\/no-such-host\.invalid:1883: getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid\n$/);
  });

  it.concurrent('--broker: a refused CONNACK (a wrong password) and an untrusted certificate end the run at once with the reason', async () => {
    const [auth, tls] = await Promise.all([startMosquitto({ auth: { users: { alice: 'secret' } } }), startMosquitto({ tls: true })]);
    try {
      const bad = await start(['--broker', `mqtt://alice:wrong@127.0.0.1:${auth.port}`, '--duration', '5']);
      expect(bad.code).toBe(1);
      // Mosquitto 2 answers a bad password to an MQTT 3.1.1 client with CONNACK 5.
      expect(bad.err).toMatch(
        new RegExp(`^start: connection refused by mqtt://127\\.0\\.0\\.1:${auth.port}: REFUSED_(NOT_AUTHORIZED \\(CONNACK 5: not authorized\\)|BAD_CREDENTIALS \\(CONNACK 4: bad user name or password\\))\\n$`),
      );
      expect(bad.ms).toBeLessThan(8000); // it waited 10 s and said CONNECTION_LOST
      const untrusted = await start(['--broker', `mqtts://127.0.0.1:${tls.tlsPort}`, '--duration', '5']); // Node's CA store: not the test CA
      expect(untrusted.code).toBe(1);
      expect(untrusted.err).toBe(
        `start: cannot connect to mqtts://127.0.0.1:${tls.tlsPort}: self-signed certificate in certificate chain (SELF_SIGNED_CERT_IN_CHAIN)\n`,
      );
      expect(untrusted.ms).toBeLessThan(8000);
    } finally {
      await Promise.all([auth.stop(), tls.stop()]);
    }
  });

  it.concurrent('--prefix: the devices publish under it; no retained status is left behind unless --retain-status', async () => {
    const aedes = await startAedes();
    const host = new NodeHost();
    /** The retained messages under `filter`, as a new subscriber gets them (before a marker published after subscribing). */
    const retained = async (filter: string, marker: string): Promise<string[]> => {
      const got: string[] = [];
      let done = false;
      const c = new Client(host, { host: '127.0.0.1', port: aedes.port, clientId: `start-retained-${process.pid}-${marker}`, keepAliveSec: 30 }, {
        onConnect: () => c.publish(marker, 'end', 1),
      });
      c.subscribe(filter, 1, (m: Message) => {
        if (m.topic === marker) done = true;
        else if (m.retain) got.push(`${m.topic} ${m.text}`);
      });
      c.subscribe(marker, 1, () => (done = true));
      c.start();
      const until = performance.now() + 10000;
      while (!done && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
      c.stop();
      expect(done).toBe(true);
      return got;
    };
    try {
      const r = await start(['--broker', `mqtt://127.0.0.1:${aedes.port}`, '--prefix', 'site/a', '--devices', '2', '--interval', '100', '--duration', '1']);
      expect(r.code).toBe(0);
      expect(r.out).toContain('monitor subscribed to site/a/+/telemetry, site/a/+/alerts, site/a/+/status');
      expectNothingLost(row(r.out, 'total'));
      expect(row(r.out, 'dev-1').telemetrySent).toBeGreaterThan(0);
      expect(await retained('site/#', 'marker/1')).toEqual([]);
      const kept = await start(['--broker', `mqtt://127.0.0.1:${aedes.port}`, '--prefix', 'site/b', '--devices', '2', '--interval', '100', '--duration', '1', '--retain-status']);
      expect(kept.code).toBe(0);
      expect((await retained('site/#', 'marker/2')).sort()).toEqual(['site/b/dev-1/status offline', 'site/b/dev-2/status offline']);
    } finally {
      await aedes.stop();
    }
  });
});
