// `npm run fleet` (tools/fleet.mjs → tools/fleet/main.ts) run as a child process, as a user runs it:
// 20 devices against the Mosquitto it spawns, a few against the in-process Aedes at QoS 0, and the
// ways it refuses to start (bad options, no Mosquitto, too few open files). Assertions are on the
// table it prints: every message sent is acknowledged and received, and latencies are measured.
import { describe, expect, it } from 'vitest';
import { run, type Run } from './spawn.js';

const root = new URL('..', import.meta.url).pathname;

function fleet(args: string[], o: { env?: Record<string, string>; shell?: string; timeoutMs?: number } = {}): Promise<Run> {
  const command = o.shell ? '/bin/sh' : process.execPath;
  // With `shell`: a shell line run before the fleet (a ulimit), which then execs it with the args.
  const argv = o.shell ? ['-c', `${o.shell} && exec "$0" tools/fleet.mjs "$@"`, process.execPath, ...args] : [root + 'tools/fleet.mjs', ...args];
  return run(command, argv, { cwd: root, env: o.env, timeoutMs: o.timeoutMs ?? 25000, name: `tools/fleet.mjs ${args.join(' ')}` });
}

interface Table {
  connected: number;
  devices: number;
  sent: number;
  acknowledged: number | null; // null: "—" (QoS 0)
  received: number;
  lost: number;
  reconnects: number;
  p50: number;
  p99: number;
  msgsPerS: number;
}

/** The final table's rows, each `  label   value   note`. */
function table(out: string): Table {
  const value = (label: string, pattern: string): RegExpExecArray => {
    const m = new RegExp(`^  ${label.replace(/[()/]/g, '\\$&')} +${pattern}(?:  |$)`, 'm').exec(out);
    if (!m) throw new Error(`no "${label}" row matching ${pattern} in the table:\n${out}`);
    return m;
  };
  const int = (label: string) => Number(value(label, '(\\d+)')[1]);
  const conn = value('devices connected', '(\\d+)/(\\d+)');
  const ack = value('acknowledged', '(\\d+|—)')[1];
  const lat = value('latency p50/p99 (ms)', '(\\d+(?:\\.\\d+)?) / (\\d+(?:\\.\\d+)?)');
  return {
    connected: Number(conn[1]),
    devices: Number(conn[2]),
    sent: int('sent'),
    acknowledged: ack === '—' ? null : Number(ack),
    received: int('received'),
    lost: int('lost'),
    reconnects: int('reconnects'),
    p50: Number(lat[1]),
    p99: Number(lat[2]),
    msgsPerS: int('msgs/s'),
  };
}

describe('npm run fleet', () => {
  it.concurrent('runs 20 devices at 5 msg/s, QoS 1, against a Mosquitto it spawns: nothing lost', async () => {
    const r = await fleet(['--devices', '20', '--rate', '5', '--qos', '1', '--duration', '3']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/broker: Mosquitto 2\.\d+\.\d+ spawned on mqtt:\/\/127\.0\.0\.1:\d+/);
    // The progress line, once a second.
    expect(r.out).toMatch(/^\[ +1\.0 s\] connected \d+\/20 {2}sent \d+ {2}acked \d+ {2}received \d+ {2}msg\/s \d+ {2}p99 \S+ ms {2}reconnects 0$/m);
    expect(r.out).toMatch(/^\[ +2\.0 s\] connected 20\/20 /m);
    const t = table(r.out);
    expect(t.connected).toBe(20);
    expect(t.devices).toBe(20);
    expect(t.sent).toBeGreaterThanOrEqual(200); // 20 × 5/s × 3 s = 300, less the ramp-up and the random first period
    expect(t.sent).toBeLessThanOrEqual(320);
    expect(t.acknowledged).toBe(t.sent);
    expect(t.received).toBe(t.sent);
    expect(t.lost).toBe(0);
    expect(t.reconnects).toBe(0);
    expect(t.p50).toBeGreaterThan(0);
    expect(t.p99).toBeGreaterThanOrEqual(t.p50);
    expect(t.p99).toBeLessThan(1000); // loopback: milliseconds, not seconds
    expect(t.msgsPerS).toBeGreaterThanOrEqual(50); // offered 100
    expect(t.msgsPerS).toBeLessThanOrEqual(120);
    expect(r.out).toMatch(/^End: everything acknowledged and delivered in \d+ ms; clients disconnected and broker stopped in \d+ ms\.$/m);
    expect(r.out).toMatch(/OK: nothing lost at QoS 1\.\n$/);
  });

  it.concurrent('runs against the in-process Aedes (--broker aedes) at QoS 0', async () => {
    const r = await fleet(['--broker', 'aedes', '--devices', '8', '--rate', '10', '--qos', '0', '--size', '200', '--duration', '2']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/broker: Aedes in this process on mqtt:\/\/127\.0\.0\.1:\d+/);
    const t = table(r.out);
    expect(t.connected).toBe(8);
    expect(t.sent).toBeGreaterThanOrEqual(100); // 8 × 10/s × 2 s = 160
    expect(t.acknowledged).toBeNull(); // QoS 0
    expect(t.received).toBe(t.sent); // QoS 0 may lose, but not over loopback at 80 msg/s
    expect(t.lost).toBe(0);
    expect(t.p99).toBeGreaterThanOrEqual(t.p50);
    expect(r.out).toMatch(/OK: nothing lost \(QoS 0\)\.\n$/);
  });

  it.concurrent('refuses bad options with exit code 2 and a message', async () => {
    const qos = await fleet(['--qos', '2']);
    expect(qos.code).toBe(2);
    expect(qos.out).toBe('');
    expect(qos.err).toContain('fleet: --qos must be an integer in 0…1, not "2"');
    const unknown = await fleet(['--devcies', '5']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/Unknown option '--devcies'/);
    const ramp = await fleet(['--devices', '1000', '--connect-rate', '100', '--duration', '5']);
    expect(ramp.code).toBe(2);
    expect(ramp.err).toContain('takes 10.0 s to start 1000 devices, longer than --duration 5');
    const help = await fleet(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: npm run fleet');
    expect(help.out).toContain('--connect-rate N');
  });

  it.concurrent('says how to install Mosquitto when it is missing', async () => {
    const r = await fleet(['--devices', '2', '--duration', '1'], { env: { MOSQUITTO: '/nonexistent/mosquitto' } });
    expect(r.code).toBe(1);
    expect(r.err).toContain('sudo apt-get install -y mosquitto');
    expect(r.err).toContain('--broker aedes');
  });

  it.concurrent('refuses more devices than the open-file limit allows, before starting anything', async () => {
    const r = await fleet(['--devices', '500', '--duration', '5'], { shell: 'ulimit -n 256' });
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^fleet: 500 devices need about \d+ open files in this process, but the limit is 256 \(ulimit -n/);
    expect(r.err).toMatch(/Or run fewer devices: --devices \d+/);
  });
});
