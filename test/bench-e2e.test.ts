// `npm run bench:e2e` end to end, small: the bench runs as a user runs it (a child process, its own
// Mosquitto), and its JSON report must have the shape the README's figures come from. Structure
// only: no assertion on a speed or a latency (those are the bench's output, on a shared machine).
import { describe, expect, it } from 'vitest';
import { run, type Run } from './spawn.js';

const root = new URL('..', import.meta.url).pathname;

function bench(args: string[], timeoutMs: number): Promise<Run> {
  return run(process.execPath, ['--expose-gc', root + 'tools/bench-e2e.mjs', ...args], { cwd: root, timeoutMs, name: `tools/bench-e2e.mjs ${args.join(' ')}` });
}

const CLIENTS = ['ceiling', 'MQTT.js', 'xs-mqtt'];

describe('npm run bench:e2e', () => {
  it('reports three clients × QoS 0 and 1 with throughput, losses, latency and ratios (--json)', async () => {
    const r = await bench(['--messages', '2000', '--repeats', '1', '--warmup', '200', '--latency-messages', '200', '--rate', '2000', '--json'], 35000);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);

    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.mosquitto).toMatch(/^\d+\.\d+/);
    expect(report.machine.node).toBe(process.version);
    expect(report.config).toMatchObject({ messages: 2000, repeats: 1, latencyMessages: 200, rate: 2000, payloadBytes: 64 });
    expect(report.config.window).toBeGreaterThan(0);
    expect(report.config.xsOutbox.inflightWindow).toBe(report.config.window);

    expect(report.rows).toHaveLength(6);
    for (const qos of [0, 1]) {
      for (const client of CLIENTS) {
        const row = report.rows.find((x: { client: string; qos: number }) => x.client === client && x.qos === qos);
        expect(row, `${client} QoS ${qos}`).toBeDefined();
        expect(row.msgsPerSec).toBeGreaterThan(0);
        expect(row.runsMsgsPerSec).toHaveLength(1);
        expect(row.sent).toBe(2000 + 200); // one throughput run and the latency run
        expect(row.lost).toBeGreaterThanOrEqual(0);
        if (qos === 1) expect(row.lost, `${client} QoS 1 lost`).toBe(0);
        expect(row.p50Ms).toBeGreaterThan(0);
        expect(row.p99Ms).toBeGreaterThanOrEqual(row.p50Ms);
        expect(row.ratioToMqttjs).toBeCloseTo(row.msgsPerSec / report.rows.find((x: { client: string; qos: number }) => x.client === 'MQTT.js' && x.qos === qos).msgsPerSec, 9);
        expect(row.ratioToCeiling).toBeCloseTo(row.msgsPerSec / report.rows.find((x: { client: string; qos: number }) => x.client === 'ceiling' && x.qos === qos).msgsPerSec, 9);
        if (client === 'ceiling') expect(row.ratioToCeiling).toBe(1);
        if (client === 'MQTT.js') expect(row.ratioToMqttjs).toBe(1);
      }
    }
    // Warm-ups, then one throughput and one latency run per client and QoS, each accounted for.
    expect(report.runs.filter((x: { kind: string }) => x.kind === 'throughput')).toHaveLength(6);
    expect(report.runs.filter((x: { kind: string }) => x.kind === 'latency')).toHaveLength(6);
    for (const run of report.runs) expect(run.received + run.lost).toBe(run.sent);

    // Every target of the issue is printed with its verdict, met or not.
    expect(report.targets.map((t: { name: string }) => t.name)).toEqual([
      'xs-mqtt QoS 0 msgs/s ≥ 0.95 × ceiling',
      'xs-mqtt QoS 1 msgs/s ≥ 0.9 × ceiling QoS 1',
      'xs-mqtt messages lost = 0 (QoS 0 and 1, every run)',
      'xs-mqtt QoS 0 p99 ≤ 1.5 × ceiling p99',
      'xs-mqtt QoS 1 p99 ≤ 1.5 × ceiling p99',
    ]);
    for (const t of report.targets) {
      expect(typeof t.met).toBe('boolean');
      expect(Number.isFinite(t.value)).toBe(true);
    }
  }, 40000);

  it('prints --help and refuses a bad option', async () => {
    const help = await bench(['--help'], 15000);
    expect(help.code).toBe(0);
    expect(help.out).toContain('--messages N');
    const bad = await bench(['--window', '0'], 15000);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--window must be an integer ≥ 1');
  }, 30000);
});
