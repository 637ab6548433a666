// `npm run fleet` (tools/fleet.mjs → tools/fleet/main.ts) run as a child process, as a user runs it:
// 20 devices against the Mosquitto it spawns, a few against the in-process Aedes at QoS 0, and the
// ways it refuses to start (bad options, no Mosquitto, too few open files). Assertions are on the
// table it prints: every message sent is acknowledged and received, and latencies are measured.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, type Run } from './spawn.js';
import { startMosquitto } from './brokers/mosquitto.js';
import { freePort } from './brokers/free-port.js';
import type { Report } from '../tools/fleet/main.js';

const root = new URL('..', import.meta.url).pathname;

function fleet(args: string[], o: { env?: Record<string, string>; shell?: string; timeoutMs?: number; nodeArgs?: string[] } = {}): Promise<Run> {
  const command = o.shell ? '/bin/sh' : process.execPath;
  // With `shell`: a shell line run before the fleet (a ulimit), which then execs it with the args.
  const argv = o.shell ? ['-c', `${o.shell} && exec "$0" tools/fleet.mjs "$@"`, process.execPath, ...args] : [...(o.nodeArgs ?? []), root + 'tools/fleet.mjs', ...args];
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

  it.concurrent('--qos 2 against Mosquitto: every message completed (PUBCOMP) and received exactly once', async () => {
    const r = await fleet(['--devices', '10', '--rate', '5', '--qos', '2', '--duration', '2']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const t = table(r.out);
    expect(t.connected).toBe(10);
    expect(t.sent).toBeGreaterThanOrEqual(50);
    expect(t.acknowledged).toBe(t.sent);
    expect(t.received).toBe(t.sent);
    expect(t.lost).toBe(0);
    expect(r.out).toMatch(/PUBCOMPs/);
    expect(r.out).toMatch(/OK: nothing lost at QoS 2\.\n$/);
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
    const qos = await fleet(['--qos', '3']);
    expect(qos.code).toBe(2);
    expect(qos.out).toBe('');
    expect(qos.err).toContain('fleet: --qos must be an integer in 0…2, not "3"');
    // One line each, with a pointer to --help; a negative number gets the range, not "ambiguous".
    const oneLine: Array<[string[], string]> = [
      [['--devcies', '5'], "fleet: Unknown option '--devcies'"],
      [['--rate', '-5'], 'fleet: --rate must be a number in 0.001…10000, not "-5"'],
      [['--mode', 'both-ways'], 'fleet: --mode must be both, pub or sub, not "both-ways"'],
      [['--mode', 'sub'], 'fleet: --mode sub needs --broker mqtt://… or mqtts://…'],
      [['-u', 'alice'], 'fleet: -u and -P go with --broker mqtt://… or mqtts://…'],
      [['--broker', 'mqtt://h', '--cert', 'c.pem', '--key', 'k.pem'], 'fleet: --cert and --key go with --broker mqtts://…'],
      [['--broker', 'mqtt://h', '--topic', 'a/+/%i'], 'fleet: --topic: "a/+/%i" is not a topic template'],
      [['--plot', 'out.png'], 'fleet: --plot: the file is an SVG'],
    ];
    for (const [args, start] of oneLine) {
      const r = await fleet(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.out).toBe('');
      expect(r.err.startsWith(start), r.err).toBe(true);
      expect(r.err).toMatch(/ \(npm run fleet -- --help lists the options\)\n$/);
      expect(r.err.split('\n').length).toBe(2);
    }
    const ramp = await fleet(['--devices', '1000', '--connect-rate', '100', '--duration', '5']);
    expect(ramp.code).toBe(2);
    expect(ramp.err).toContain('takes 10.0 s to start 1000 devices, longer than --duration 5');
    const help = await fleet(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: npm run fleet');
    expect(help.out).toContain('--connect-rate N');
    for (const o of ['-u, --username', '-P, --password', '--cert FILE', '--key FILE', '--mode M', '--topic T', '%i', '--json', '--plot FILE.svg']) expect(help.out).toContain(o);
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

  it.concurrent('--broker: a refused connection, a refused CONNACK and an untrusted certificate end the run at once with the reason', async () => {
    const port = await freePort();
    for (const mode of ['both', 'pub']) {
      const r = await fleet(['--broker', `mqtt://127.0.0.1:${port}`, '--devices', '2', '--duration', '5', '--mode', mode]);
      expect(r.code).toBe(1);
      expect(r.err).toBe(`fleet: cannot connect to mqtt://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
      expect(r.ms).toBeLessThan(8000); // the monitors waited 10 s
    }
    const b = await startMosquitto({ auth: { users: { alice: 'secret' } }, tls: true });
    try {
      const bad = await fleet(['--broker', `mqtt://127.0.0.1:${b.port}`, '-u', 'alice', '-P', 'wrong', '--devices', '2', '--duration', '5']);
      expect(bad.code).toBe(1);
      expect(bad.err).toMatch(new RegExp(`^fleet: connection refused by mqtt://127\\.0\\.0\\.1:${b.port}: REFUSED_(NOT_AUTHORIZED|BAD_CREDENTIALS) \\(CONNACK [45]: .*\\)\\n$`));
      expect(bad.ms).toBeLessThan(8000);
      const untrusted = await fleet(['--broker', `mqtts://127.0.0.1:${b.tlsPort}`, '-u', 'alice', '-P', 'secret', '--devices', '2', '--duration', '5']);
      expect(untrusted.code).toBe(1);
      expect(untrusted.err).toBe(`fleet: cannot connect to mqtts://127.0.0.1:${b.tlsPort}: self-signed certificate in certificate chain (SELF_SIGNED_CERT_IN_CHAIN)\n`);
      // -u and -P: the right password works; --json is the report, alone on stdout.
      const ok = await fleet(['--broker', `mqtt://127.0.0.1:${b.port}`, '-u', 'alice', '-P', 'secret', '--devices', '4', '--rate', '10', '--duration', '2', '--json']);
      expect(ok.code, ok.err).toBe(0);
      const report = JSON.parse(ok.out) as Report;
      expect(report.ok).toBe(true);
      expect(report.mode).toBe('both');
      expect(report.devices).toMatchObject({ total: 4, connected: 4 });
      expect(report.sent).toBeGreaterThan(30);
      expect(report.acknowledged).toBe(report.sent);
      expect(report.received).toBe(report.sent);
      expect(report.lost).toBe(0);
      expect(report.latencyMs!.p99).toBeGreaterThanOrEqual(report.latencyMs!.p50);
      expect(report.scheduler.behind).toBe(false);
      expect(ok.err).toContain('OK: nothing lost at QoS 1.'); // the table, on stderr
      expect(ok.err).toMatch(/^  latency p50\/p99 \(ms\) +[\d.]+ \/ [\d.]+ /m);
    } finally {
      await b.stop();
    }
  });

  it.concurrent('--cert and --key: a client certificate for a mutual-TLS broker; without one the run ends at once', async () => {
    const b = await startMosquitto({ tls: { requireCertificate: true } });
    const dir = mkdtempSync(join(tmpdir(), 'xs-mqtt-fleet-'));
    try {
      const [ca, cert, key] = [join(dir, 'ca.pem'), join(dir, 'cert.pem'), join(dir, 'key.pem')];
      writeFileSync(ca, b.caPem);
      writeFileSync(cert, b.clientCertPem!);
      writeFileSync(key, b.clientKeyPem!);
      const url = `mqtts://127.0.0.1:${b.tlsPort}`;
      const ok = await fleet(['--broker', url, '--ca', ca, '--cert', cert, '--key', key, '--devices', '3', '--rate', '10', '--duration', '2', '--json']);
      expect(ok.code, ok.err).toBe(0);
      const report = JSON.parse(ok.out) as Report;
      expect(report.devices.connected).toBe(3);
      expect(report.received).toBe(report.sent);
      const none = await fleet(['--broker', url, '--ca', ca, '--devices', '3', '--duration', '5']);
      expect(none.code).toBe(1);
      expect(none.err).toMatch(new RegExp(`^fleet: (cannot connect to ${url}|${url} closed the connection before CONNACK).*\\n$`));
      expect(none.ms).toBeLessThan(8000);
    } finally {
      await b.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.concurrent('--mode pub and --mode sub in two processes, with topic templates: the subscribers get every message and measure the latency', async () => {
    const b = await startMosquitto();
    try {
      const sub = fleet(['--broker', `mqtt://127.0.0.1:${b.port}`, '--mode', 'sub', '--devices', '3', '--topic', 'tpl/%i/#', '--qos', '1', '--duration', '9', '--json'], { timeoutMs: 30000 });
      await b.waitForLog(/Sending SUBACK to fleet-\w+-sub-3\b/, { timeoutMs: 15000 });
      await b.waitForLog(/Sending SUBACK to fleet-\w+-sub-1\b/, { timeoutMs: 15000 });
      await b.waitForLog(/Sending SUBACK to fleet-\w+-sub-2\b/, { timeoutMs: 15000 });
      const pub = await fleet(['--broker', `mqtt://127.0.0.1:${b.port}`, '--mode', 'pub', '--devices', '3', '--rate', '10', '--topic', 'tpl/%i/data', '--qos', '1', '--duration', '2', '--json']);
      expect(pub.code, pub.err).toBe(0);
      const p = JSON.parse(pub.out) as Report;
      expect(p.mode).toBe('pub');
      expect(p.topic).toBe('tpl/%i/data');
      expect(p.sent).toBeGreaterThan(20);
      expect(p.acknowledged).toBe(p.sent);
      expect(p.received).toBeNull();
      expect(p.latencyMs).toBeNull();
      expect(pub.err).toContain('OK: every message acknowledged (QoS 1).');
      for (const n of [1, 2, 3]) expect(b.log()).toMatch(new RegExp(`Received PUBLISH from fleet-\\w+-${n} \\(d0, q1, r0, m\\d+, 'tpl/${n}/data'`));
      const r = await sub;
      expect(r.code, r.err).toBe(0);
      const s = JSON.parse(r.out) as Report;
      expect(s.mode).toBe('sub');
      expect(s.sent).toBeNull();
      expect(s.devices.connected).toBe(3);
      expect(s.received).toBe(p.sent); // QoS 1 both ways, subscribed before the first publish
      expect(s.latencyMs!.p50).toBeGreaterThan(0);
      expect(s.latencyMs!.p99).toBeLessThan(1000);
      expect(r.err).toMatch(/^  subscribers +3\/3 /m);
    } finally {
      await b.stop();
    }
  });

  it.concurrent('--plot writes a self-contained SVG of the latency distribution and msgs/s over time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xs-mqtt-plot-'));
    try {
      const file = join(dir, 'run.svg');
      const r = await fleet(['--broker', 'aedes', '--devices', '5', '--rate', '20', '--qos', '0', '--duration', '3', '--plot', file]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain(`plot: ${file}`);
      const svg = readFileSync(file, 'utf8');
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+"/);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(svg).not.toMatch(/<script|href=|@import|url\(/); // nothing outside the file
      expect(svg).toContain('Latency, publish() → subscriber');
      expect(svg).toContain('Messages per second over time');
      expect((svg.match(/<rect [^>]*fill="#4c78a8"/g) ?? []).length).toBeGreaterThan(2); // histogram bars
      expect(svg).toMatch(/p50 [\d.]+ ms/);
      expect(svg).toMatch(/p99 [\d.]+ ms/);
      expect((svg.match(/<path d="M[^"]+"/g) ?? []).length).toBe(2); // received and sent over time
      // Balanced tags: every element opened is closed.
      const open = (svg.match(/<(rect|text|line|path|title)\b(?:[^>]*[^/])?>/g) ?? []).length;
      const closed = (svg.match(/<\/(rect|text|line|path|title)>/g) ?? []).length;
      expect(open).toBe(closed);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.concurrent('warns loudly when the scheduler falls behind the publish interval (and not when it keeps up)', async () => {
    // The process made too slow for its schedule: a module loaded first (node --import) blocks the
    // event loop 90 ms of every 100, so the publishes due meanwhile go out late, as on an overloaded
    // machine; the same run without it is the control.
    const dir = mkdtempSync(join(tmpdir(), 'xs-mqtt-hog-'));
    const hog = join(dir, 'hog.mjs');
    writeFileSync(hog, 'setInterval(() => { const end = performance.now() + 90; while (performance.now() < end); }, 100).unref();\n');
    try {
      const args = ['--broker', 'aedes', '--mode', 'pub', '--devices', '5', '--rate', '50', '--qos', '0', '--duration', '3', '--drain', '1', '--json'];
      const [slow, control] = await Promise.all([fleet(args, { nodeArgs: ['--import', hog] }), fleet(args)]);
      const report = JSON.parse(slow.out) as Report;
      expect(report.scheduler.behind).toBe(true);
      expect(report.scheduler.behindSeconds).toBeGreaterThan(0);
      expect(slow.err).toMatch(/^fleet: WARNING: the scheduler is falling behind: publishes go out [\d.]+ ms after their due time \(median of the last second\), against a 20\.0 ms interval per device\. This process cannot offer 250 msg\/s/m);
      expect(slow.err).toMatch(/^WARNING: the scheduler fell behind the publish interval in \d+ seconds? of the run/m);
      const ok = JSON.parse(control.out) as Report;
      expect(ok.scheduler.behind).toBe(false);
      expect(control.err).not.toContain('WARNING');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
