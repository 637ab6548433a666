// `npm start` (tools/start.mjs → tools/sensors/main.ts) run as a child process, as a user runs it:
// simulated devices and a monitor against the embedded broker, ended by --duration, with a summary
// that accounts for every message; and against a broker of the test's own (--broker), to which the
// test sends a device a command.
import { describe, expect, it } from 'vitest';
import { run, type Run } from './spawn.js';
import { Client } from '../src/index.js';
import { NodeHost } from '../hosts/node/index.js';
import { startAedes } from './brokers/aedes.js';

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

  it('refuses bad options with exit code 2 and prints the usage', async () => {
    const r = await start(['--devices', '0']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--devices must be an integer in 1…10000');
    expect(r.err).toContain('Usage: npm start');
    const help = await start(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('--broker URL');
  });
});
