// The command-line tools, `xs-mqtt pub` and `xs-mqtt sub`, run as a user runs them: the package's bin
// (tools/cli/xs-mqtt.mjs) in child processes, against a real Mosquitto on free 127.0.0.1 ports (one
// open to anyone, with a TLS listener; one with password auth). What is checked is what a user sees:
// stdout, stderr, exit status, timing, and what the broker logged (SUBACKs, clean DISCONNECTs).
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto } from './brokers/mosquitto.js';
import type { Broker } from './brokers/mosquitto.js';
import { freePort } from './brokers/free-port.js';
import { startProxy } from './brokers/proxy.js';

const root = new URL('..', import.meta.url).pathname;
const BIN = root + 'tools/cli/xs-mqtt.mjs';
const LOCAL = '127.0.0.1';
const WAIT_MS = 10000; // generous: a loaded 2-core machine

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  ms: number;
}

interface Proc {
  /** stdout and stderr so far. */
  out(): string;
  err(): string;
  /** Resolves when the process has ended; kills it (and rejects) after its time limit. */
  done: Promise<Run>;
  kill(sig: NodeJS.Signals): void;
  /** Writes to its stdin (with keepStdin), and closes it. */
  write(s: string): void;
  end(): void;
}

interface CliOptions {
  input?: string | Buffer;
  /** stdin stays open for write() and end(), instead of getting `input` and closing. */
  keepStdin?: boolean;
  timeoutMs?: number;
  bin?: string;
}

/** Starts the bin with `args`; `input` is written to its stdin (then closed), else stdin is closed at once. */
function cli(args: string[], opts: CliOptions = {}): Proc {
  const t0 = performance.now();
  const child = spawn(process.execPath, [opts.bin ?? BIN, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  child.stdin.on('error', () => {}); // a process that ended before reading all of it
  if (!opts.keepStdin) child.stdin.end(opts.input ?? '');
  const timeoutMs = opts.timeoutMs ?? 15000;
  const done = new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`xs-mqtt ${args.join(' ')} did not end within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err, ms: performance.now() - t0 });
    });
  });
  return { out: () => out, err: () => err, done, kill: (sig) => child.kill(sig), write: (t) => child.stdin.write(t), end: () => child.stdin.end() };
}

const run = (args: string[], opts: CliOptions = {}) => cli(args, opts).done;

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

let seq = 0;
/** A client id unique to this run, for finding the client in the broker's log. */
function id(name: string): string {
  return `cli-${name}-${process.pid}-${++seq}`;
}

/** Waits until Mosquitto has sent client `clientId` its `n`th SUBACK after log offset `from`: it is subscribed. */
async function subscribed(broker: Broker, clientId: string, from = 0): Promise<void> {
  await broker.waitForLog(new RegExp(`Sending SUBACK to ${escape(clientId)}\\b`), { from, timeoutMs: WAIT_MS });
}

/** The broker got a clean DISCONNECT from `clientId` (a will would not be sent, nor a session marked lost). */
async function disconnectedCleanly(broker: Broker, clientId: string): Promise<void> {
  await broker.waitForLog(new RegExp(`Received DISCONNECT from ${escape(clientId)}\\b`), { timeoutMs: WAIT_MS });
}

/** A run that should have succeeded, with its output in the failure message when it did not. */
function expectOk(r: Run, what: string): void {
  expect(r.code, `${what} exited ${r.code}:\nstdout: ${r.out}\nstderr: ${r.err}`).toBe(0);
  expect(r.err).toBe('');
}

let open: Broker; // anonymous, plain and TLS listeners
let auth: Broker; // password auth
let tmp: string;
let caFile: string;
let otherCaFile: string;

beforeAll(async () => {
  [open, auth] = await Promise.all([startMosquitto({ tls: true }), startMosquitto({ auth: { users: { alice: 'secret' } } })]);
  tmp = mkdtempSync(join(tmpdir(), 'xs-mqtt-cli-'));
  caFile = join(tmp, 'ca.pem');
  otherCaFile = join(tmp, 'other-ca.pem');
  writeFileSync(caFile, open.caPem);
  writeFileSync(otherCaFile, open.otherCaPem);
});

afterAll(async () => {
  await Promise.all([open?.stop(), auth?.stop()]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.concurrent('xs-mqtt pub and sub against Mosquitto', () => {
  it('sub -C 3 -v prints three messages published by pub at QoS 0 and 1, then exits 0; both disconnect cleanly', async ({ expect }) => {
    const subId = id('sub');
    const sub = cli(['sub', '-h', LOCAL, '-p', String(open.port), '-i', subId, '-t', 'three/#', '-q', '1', '-v', '-C', '3']);
    await subscribed(open, subId);
    const pubIds = [id('pub'), id('pub'), id('pub')];
    // One after the other: each exits only once its message is out (QoS 1: acknowledged).
    expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-i', pubIds[0], '-t', 'three/a', '-m', 'one']), 'pub q0');
    expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-i', pubIds[1], '-t', 'three/b', '-m', 'two', '-q', '1']), 'pub q1');
    expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-i', pubIds[2], '-t', 'three/c/d', '-m', 'three, with spaces', '-q', '1']), 'pub q1');
    const r = await sub.done;
    expectOk(r, 'sub');
    expect(r.out).toBe('three/a one\nthree/b two\nthree/c/d three, with spaces\n');
    for (const c of [subId, ...pubIds]) await disconnectedCleanly(open, c);
    // The broker logged each PUBLISH at the QoS asked for.
    expect(open.log()).toMatch(new RegExp(`Received PUBLISH from ${escape(pubIds[0])} \\(d0, q0, r0, m0, 'three/a'`));
    expect(open.log()).toMatch(new RegExp(`Received PUBLISH from ${escape(pubIds[1])} \\(d0, q1, r0, m1, 'three/b'`));
  });

  it('pub -l -q 1 sends each stdin line as a message, none lost, in order; blank lines skipped', async ({ expect }) => {
    const N = 2000;
    const lines = Array.from({ length: N }, (_, k) => `line ${k + 1} ${'x'.repeat(k % 50)}`);
    const input = lines.slice(0, 1000).join('\n') + '\n\n' + lines.slice(1000).join('\n'); // a blank line; no final newline
    const subId = id('sub-l');
    const sub = cli(['sub', '-h', LOCAL, '-p', String(open.port), '-i', subId, '-t', 'lines/t', '-q', '1', '-C', String(N)], { timeoutMs: 20000 });
    await subscribed(open, subId);
    const pubId = id('pub-l');
    const p = await run(['pub', '-h', LOCAL, '-p', String(open.port), '-i', pubId, '-t', 'lines/t', '-l', '-q', '1'], { input, timeoutMs: 20000 });
    expectOk(p, 'pub -l');
    const r = await sub.done;
    expectOk(r, 'sub');
    expect(r.out.split('\n').slice(0, -1)).toEqual(lines);
    await disconnectedCleanly(open, pubId);
    // Exited only after the last PUBACK: the broker acknowledged N messages to it.
    const acks = open.log().match(new RegExp(`Sending PUBACK to ${escape(pubId)}\\b`, 'g')) ?? [];
    expect(acks.length).toBe(N);
  });

  it('sub -q 2 gets a burst of 500 QoS 2 lines from pub -l -q 2, each once, in order, never disconnected: Mosquitto frees its in-flight slot at PUBREC and its PUBRELs lag, so hundreds of ids are open at once (a 32-id window closed with QOS2_TABLE_FULL and lost most of them)', async ({ expect }) => {
    const N = 500;
    const lines = Array.from({ length: N }, (_, k) => `q2 ${k + 1}`);
    const subId = id('sub-q2-burst');
    const sub = cli(['sub', '-h', LOCAL, '-p', String(open.port), '-i', subId, '-t', 'q2burst/t', '-q', '2', '-C', String(N)], { timeoutMs: 20000 });
    await subscribed(open, subId);
    const p = await run(['pub', '-h', LOCAL, '-p', String(open.port), '-i', id('pub-q2-burst'), '-t', 'q2burst/t', '-l', '-q', '2'], { input: lines.join('\n') + '\n', timeoutMs: 20000 });
    expectOk(p, 'pub -l -q 2');
    const r = await sub.done;
    expectOk(r, 'sub');
    expect(r.out.split('\n').slice(0, -1)).toEqual(lines); // a clean session: a drop would have lost some
  });

  it('pub -q 2: PUBLISH, PUBREC, PUBREL, PUBCOMP with the broker; a QoS 2 subscriber gets each message once', async ({ expect }) => {
    const subId = id('sub-q2');
    const sub = cli(['sub', '-h', LOCAL, '-p', String(open.port), '-i', subId, '-t', 'q2/t', '-q', '2', '-C', '3']);
    await subscribed(open, subId);
    const pubId = id('pub-q2');
    expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-i', pubId, '-t', 'q2/t', '-m', 'exactly once', '-q', '2', '--repeat', '3']), 'pub -q 2');
    const r = await sub.done;
    expectOk(r, 'sub');
    expect(r.out).toBe('exactly once\n'.repeat(3));
    await disconnectedCleanly(open, pubId);
    // The broker logged each step of the exchange for each message, and nothing at QoS 1.
    const log = open.log();
    for (const step of ['Received PUBLISH from', 'Sending PUBREC to', 'Received PUBREL from', 'Sending PUBCOMP to']) {
      expect((log.match(new RegExp(`${step} ${escape(pubId)}\\b`, 'g')) ?? []).length, step).toBe(3);
    }
    expect(log).toMatch(new RegExp(`Received PUBLISH from ${escape(pubId)} \\(d0, q2, r0, m\\d+, 'q2/t'`));
  });

  it('a retained message: a plain sub gets it, sub -R skips it and prints only a fresh one', async ({ expect }) => {
    expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-t', 'ret/x', '-m', 'stale', '-r', '-q', '1']), 'pub -r');
    const plain = await run(['sub', '-h', LOCAL, '-p', String(open.port), '-t', 'ret/x', '-C', '1', '-F', '%t %r %p']);
    expectOk(plain, 'sub');
    expect(plain.out).toBe('ret/x 1 stale\n');

    const subId = id('sub-R');
    const sub = cli(['sub', '-h', LOCAL, '-p', String(open.port), '-i', subId, '-t', 'ret/x', '-R', '-C', '1', '-F', '%t %r %p']);
    await subscribed(open, subId);
    // Sent the retained message (before anything published from now on): -R must skip it, not count it.
    await open.waitForLog(new RegExp(`Sending PUBLISH to ${escape(subId)} \\(d0, q0, r1, m0, 'ret/x'`), { timeoutMs: WAIT_MS });
    expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-t', 'ret/x', '-m', 'fresh']), 'pub');
    const r = await sub.done;
    expectOk(r, 'sub -R');
    expect(r.out).toBe('ret/x 0 fresh\n');
  });

  it('sub -W 1 on a quiet topic exits 27 after about a second, saying it timed out', async ({ expect }) => {
    const subId = id('sub-W');
    const r = await run(['sub', '-h', LOCAL, '-p', String(open.port), '-i', subId, '-t', 'quiet/#', '-W', '1']);
    expect(r.code).toBe(27);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^xs-mqtt sub: timed out after 1 s \(-W\)\n$/);
    expect(r.ms).toBeGreaterThanOrEqual(1000);
    expect(r.ms).toBeLessThan(8000); // from the start of the process, on a loaded machine
    await disconnectedCleanly(open, subId);
  });

  it('-T filters topics out; -F formats; -N drops the newline; -f, -s and -n give the payload', async ({ expect }) => {
    const subId = id('sub-F');
    const sub = cli(['sub', '-h', LOCAL, '-p', String(open.port), '-i', subId, '-t', 'fmt/#', '-T', 'fmt/skip/#', '-C', '3', '-N', '-F', '[%t|q%q|r%r|%l|%p]\\n']);
    await subscribed(open, subId);
    const file = join(tmp, 'payload.bin');
    const fromFile = 'from a file\nwith two lines';
    const fromStdin = 'all of\nstdin\n';
    writeFileSync(file, fromFile);
    const base = ['pub', '-h', LOCAL, '-p', String(open.port)];
    expectOk(await run([...base, '-t', 'fmt/skip/me', '-m', 'filtered out']), 'pub');
    expectOk(await run([...base, '-t', 'fmt/file', '-f', file, '-q', '1']), 'pub -f');
    expectOk(await run([...base, '-t', 'fmt/stdin', '-s'], { input: fromStdin }), 'pub -s');
    expectOk(await run([...base, '-t', 'fmt/null', '-n']), 'pub -n');
    const r = await sub.done;
    expectOk(r, 'sub');
    // -N: no newline after the format; the format's own \n ends each.
    expect(r.out).toBe(`[fmt/file|q0|r0|${fromFile.length}|${fromFile}]\n[fmt/stdin|q0|r0|${fromStdin.length}|${fromStdin}]\n[fmt/null|q0|r0|0|]\n`);
  });

  it('sub -c keeps a persistent session: a QoS 1 message published while it is away arrives at its next run', async ({ expect }) => {
    const subId = id('sub-c');
    const base = ['sub', '-h', LOCAL, '-p', String(open.port), '-i', subId, '-c', '-t', 'persist/t', '-q', '1'];
    const first = cli([...base, '-C', '1']);
    await subscribed(open, subId);
    expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-t', 'persist/t', '-m', 'online', '-q', '1']), 'pub');
    expectOk(await first.done, 'sub -c');
    expect(first.out()).toBe('online\n');
    expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-t', 'persist/t', '-m', 'while away', '-q', '1']), 'pub');
    const second = await run([...base, '-C', '1']);
    expectOk(second, 'sub -c again');
    expect(second.out).toBe('while away\n');
  });

  it('--will-*: the broker publishes the will of a sub killed without a DISCONNECT', async ({ expect }) => {
    const witnessId = id('sub-will-witness');
    const witness = cli(['sub', '-h', LOCAL, '-p', String(open.port), '-i', witnessId, '-t', 'will/+', '-v', '-C', '1', '-q', '1']);
    await subscribed(open, witnessId);
    const doomedId = id('sub-doomed');
    const doomed = cli(['sub', '-h', LOCAL, '-p', String(open.port), '-i', doomedId, '-t', 'will/none', '--will-topic', 'will/doomed', '--will-payload', 'gone', '--will-qos', '1']);
    await subscribed(open, doomedId);
    doomed.kill('SIGKILL');
    const r = await witness.done;
    expectOk(r, 'witness');
    expect(r.out).toBe('will/doomed gone\n');
    expect((await doomed.done).signal).toBe('SIGKILL');
  });

  it('Ctrl-C (SIGINT) ends sub with a clean DISCONNECT and exit status 0', async ({ expect }) => {
    const subId = id('sub-int');
    const sub = cli(['sub', '-h', LOCAL, '-p', String(open.port), '-i', subId, '-t', 'int/#', '-v']);
    await subscribed(open, subId);
    expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-t', 'int/a', '-m', 'before']), 'pub');
    await expect.poll(() => sub.out(), { timeout: WAIT_MS }).toBe('int/a before\n');
    sub.kill('SIGINT');
    const r = await sub.done;
    expectOk(r, 'sub');
    expect(r.signal).toBe(null);
    await disconnectedCleanly(open, subId);
  });

  it('a cut link: sub reconnects and renews its subscription; pub -l -q 1 reconnects and resends, no line lost', async ({ expect }) => {
    const proxy = await startProxy(open.port);
    try {
      // sub through the proxy: it gets the message before the cut and the one after.
      const subId = id('sub-cut');
      const sub = cli(['sub', '-h', LOCAL, '-p', String(proxy.port), '-i', subId, '-t', 'cut/s', '-v']);
      await subscribed(open, subId);
      expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-t', 'cut/s', '-m', 'before']), 'pub');
      await expect.poll(() => sub.out(), { timeout: WAIT_MS }).toBe('cut/s before\n');
      let mark = open.log().length;
      proxy.cutAll();
      await subscribed(open, subId, mark); // its next connection subscribed again
      expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-t', 'cut/s', '-m', 'after']), 'pub');
      await expect.poll(() => sub.out(), { timeout: WAIT_MS }).toBe('cut/s before\ncut/s after\n');
      sub.kill('SIGINT');
      expectOk(await sub.done, 'sub');

      // pub -l through the proxy, the link cut halfway through stdin; a direct sub counts the lines.
      const N = 1000;
      const lines = Array.from({ length: N }, (_, k) => `cut ${k + 1}`);
      const witnessId = id('sub-witness');
      const witness = cli(['sub', '-h', LOCAL, '-p', String(open.port), '-i', witnessId, '-t', 'cut/l', '-q', '1']);
      await subscribed(open, witnessId);
      const pubId = id('pub-cut');
      mark = open.log().length;
      const pub = cli(['pub', '-h', LOCAL, '-p', String(proxy.port), '-i', pubId, '-t', 'cut/l', '-l', '-q', '1', '--retries', '3'], { keepStdin: true });
      pub.write(lines.slice(0, N / 2).join('\n') + '\n');
      await open.waitForLog(new RegExp(`Sending PUBACK to ${escape(pubId)} \\(m\\d+, rc0\\)\\n`), { from: mark, timeoutMs: WAIT_MS });
      proxy.cutAll();
      pub.write(lines.slice(N / 2).join('\n') + '\n');
      pub.end();
      expectOk(await pub.done, 'pub -l across a cut');
      const got = () => new Set(witness.out().split('\n').filter(Boolean));
      await expect.poll(() => got().size, { timeout: WAIT_MS }).toBe(N); // QoS 1: duplicates allowed, no loss
      expect([...got()].sort()).toEqual([...lines].sort());
      expect(proxy.accepted()).toBeGreaterThanOrEqual(4); // sub twice, pub twice: it did reconnect
      witness.kill('SIGINT');
      expectOk(await witness.done, 'witness');
    } finally {
      await proxy.stop();
    }
  });

  it('a wrong password: pub and sub exit 5 at once, naming the refusal; the right one works', async ({ expect }) => {
    for (const tool of [['pub', '-t', 'a/b', '-m', 'x'], ['sub', '-t', 'a/b']]) {
      const r = await run([...tool, '-h', LOCAL, '-p', String(auth.port), '-u', 'alice', '-P', 'wrong']);
      expect(r.code).toBe(5); // mosquitto's MOSQ_ERR_CONN_REFUSED
      expect(r.out).toBe('');
      // Mosquitto 2 answers a bad password to an MQTT 3.1.1 client with CONNACK 5.
      expect(r.err).toMatch(
        new RegExp(`^xs-mqtt ${tool[0]}: connection refused by mqtt://127\\.0\\.0\\.1:${auth.port}: REFUSED_(NOT_AUTHORIZED \\(CONNACK 5: not authorized\\)|BAD_CREDENTIALS \\(CONNACK 4: bad user name or password\\))\\n$`),
      );
      expect(r.ms).toBeLessThan(8000); // no retries: one refused attempt (the message would count them)
    }
    expectOk(await run(['pub', '-L', `mqtt://alice:secret@${LOCAL}:${auth.port}/a/b`, '-m', 'x', '-q', '1']), 'pub with the right password');
  });

  it('an unreachable port: pub and sub exit 1 quickly (no endless retries); --retries N tries N more times', async ({ expect }) => {
    const port = await freePort(); // nothing listens there
    for (const tool of [['pub', '-t', 'a', '-m', 'x'], ['sub', '-t', 'a']]) {
      const r = await run([...tool, '-h', LOCAL, '-p', String(port)]);
      expect(r.code).toBe(1);
      expect(r.out).toBe('');
      expect(r.err).toBe(`xs-mqtt ${tool[0]}: cannot connect to mqtt://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
      expect(r.ms).toBeLessThan(8000); // node, esbuild and one refused connect, on a loaded machine
    }
    const r = await run(['pub', '-t', 'a', '-m', 'x', '-h', LOCAL, '-p', String(port), '--retries', '2', '-d']);
    expect(r.code).toBe(1);
    expect(r.err.match(/opening mqtt:/g)?.length).toBe(3);
    expect(r.err).toMatch(/ECONNREFUSED .*\(3 attempts\)\n$/);
  });

  it('TLS: a broker verified with --cafile works (pub -p, sub -L mqtts://); another CA, or none, fails closed with exit status 8', async ({ expect }) => {
    const subId = id('sub-tls');
    const sub = cli(['sub', '-L', `mqtts://${LOCAL}:${open.tlsPort}/tls/t`, '--cafile', caFile, '-i', subId, '-C', '1', '-q', '1']);
    await subscribed(open, subId);
    expectOk(
      await run(['pub', '-h', LOCAL, '-p', String(open.tlsPort), '--cafile', caFile, '--tls-servername', 'localhost', '-t', 'tls/t', '-m', 'over TLS', '-q', '1']),
      'pub over TLS',
    );
    const r = await sub.done;
    expectOk(r, 'sub over TLS');
    expect(r.out).toBe('over TLS\n');

    const otherId = id('pub-other-ca');
    const other = await run(['pub', '-h', LOCAL, '-p', String(open.tlsPort), '--cafile', otherCaFile, '-i', otherId, '-t', 'tls/t', '-m', 'no']);
    expect(other.code).toBe(8); // mosquitto's MOSQ_ERR_TLS
    expect(other.err).toMatch(new RegExp(`^xs-mqtt pub: cannot connect to mqtts://127\\.0\\.0\\.1:${open.tlsPort}: .*certificate.*\\n$`, 'i'));
    const noneId = id('sub-no-ca');
    const none = await run(['sub', '-h', LOCAL, '-p', String(open.tlsPort), '--tls', '-i', noneId, '-t', 'tls/t']); // Node's CA store: not our CA
    expect(none.code).toBe(8);
    expect(none.err).toMatch(/SELF_SIGNED_CERT_IN_CHAIN/);
    expect(none.err).toMatch(/^xs-mqtt sub: cannot connect to mqtts:.*certificate/i);
    // Neither got as far as a CONNECT: the broker never saw their client ids.
    expect(open.log()).not.toContain(otherId);
    expect(open.log()).not.toContain(noneId);
  });

  it('usage errors exit 2 with one line on stderr', async ({ expect }) => {
    const cases: Array<[string[], RegExp]> = [
      [['pub', '--bogus'], /^xs-mqtt pub: Unknown option '--bogus' \(xs-mqtt pub --help lists the options\)\n$/],
      [['pub', '-t', 'a', '-m', 'x', '-q', '3'], /^xs-mqtt pub: -q must be an integer from 0 to 2, not "3" /],
      [['pub', '-t', 'a'], /^xs-mqtt pub: no message: give one of -m TEXT, -f FILE, -l, -s or -n /],
      [['pub', '-t', 'a/#', '-m', 'x'], /^xs-mqtt pub: -t "a\/#": /],
      [['pub', '-t', 'a', '-m', 'x', '-n'], /^xs-mqtt pub: -m and -n: give only one message source /],
      [['pub', '-t', 'a', '-m', 'x', '-c'], /^xs-mqtt pub: -c \(a persistent session\) needs a client id/],
      [['pub', '-t', 'a', '-m', 'x', '-p', '70000'], /^xs-mqtt pub: -p must be an integer from 1 to 65535, not "70000" /],
      [['pub', '-t', 'a', '-m', 'x', '--cafile', '/nonexistent/ca.pem'], /^xs-mqtt pub: --cafile: cannot read \/nonexistent\/ca\.pem: ENOENT /],
      [['sub'], /^xs-mqtt sub: no topic filter: give at least one with -t /],
      [['sub', '-t', 'a/#/b'], /^xs-mqtt sub: -t "a\/#\/b": /],
      [['sub', '-t', 'a', '-q', '3'], /^xs-mqtt sub: -q must be an integer from 0 to 2, not "3" /],
      [['sub', '-t', 'a', '-F', '%y'], /^xs-mqtt sub: -F: unknown field %y \(known: %t %p %q %r %l %m %x %X %j %I %U %%\) /],
      [['sub', '-t', 'a', '-R', '--retained-only'], /^xs-mqtt sub: -R and --retained-only: .* makes no sense /],
      [['sub', '-t', 'a', '-i', 'x', '-I', 'p-'], /^xs-mqtt sub: -i and -I both give the client id: use one /],
      [['sub', '-U', 'a/#/b'], /^xs-mqtt sub: -U "a\/#\/b": /],
      [['pub', '-t', 'a', '-m', 'x', '-k', '-5'], /^xs-mqtt pub: -k must be an integer from 0 to 65535, not "-5" /],
      [['sub', '-L', 'http://host/a'], /^xs-mqtt sub: -L: not an mqtt:\/\/ or mqtts:\/\/ URL/],
      [['frobnicate'], /^xs-mqtt: unknown command "frobnicate": want pub or sub/],
    ];
    const runs = await Promise.all(cases.map(([args]) => run(args)));
    runs.forEach((r, k) => {
      expect(r.code, cases[k][0].join(' ')).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(cases[k][1]);
      expect(r.err.split('\n').length, r.err).toBe(2); // one line
    });
  });

  it('--help lists every option of each command and exits 0', async ({ expect }) => {
    const [top, pub, sub] = await Promise.all([run(['--help']), run(['pub', '--help']), run(['sub', '--help'])]);
    for (const r of [top, pub, sub]) expectOk(r, '--help');
    expect(top.out).toMatch(/^Usage: xs-mqtt pub .*\n {7}xs-mqtt sub /);
    const shared = ['-h, --host', '-p, --port', '-L, --url', '-i, --id', '-u, --username', '-P, --pw', '-k, --keepalive', '-c, --disable-clean-session',
      '--retries', '-d, --debug', '--quiet', '-I, --id-prefix', '--will-topic', '--will-payload', '--will-qos', '--will-retain', '--tls ', '--cafile', '--cert', '--key', '--tls-servername', '--help', 'there is no --insecure'];
    for (const o of [...shared, '-t, --topic', '-m, --message', '-f, --file', '-n, --null-message', '-l, --stdin-line', '-s, --stdin-file', '-q, --qos 0|1|2 ', '-r, --retain', '--repeat ', '--repeat-delay', '5 the broker refused', '7 the connection was lost', '8 TLS failed']) {
      expect(pub.out).toContain(o);
    }
    for (const o of [...shared, '-t, --topic', '-T, --filter-out', '-q, --qos 0|1|2', '-R, --skip-retained', '-v, --verbose', '-N, --no-newline', '-F, --format', '-C, --count', '-W, --timeout', 'status 27',
      '--retained-only', '--remove-retained', '-U, --unsubscribe', '-E, --exit-after-subscribe', '%j', '%I', '%x', '%X', '%m', '5 the broker refused', '8 TLS failed']) {
      expect(sub.out).toContain(o);
    }
  });

  it('the bin of an installed package runs dist/cli.js (no TypeScript beside it), and says what is missing without it', async ({ expect }) => {
    const pkg = mkdtempSync(join(tmpdir(), 'xs-mqtt-pkg-'));
    try {
      mkdirSync(join(pkg, 'tools/cli'), { recursive: true });
      copyFileSync(BIN, join(pkg, 'tools/cli/xs-mqtt.mjs'));
      const bin = join(pkg, 'tools/cli/xs-mqtt.mjs');
      const missing = await run(['--help'], { bin });
      expect(missing.code).not.toBe(0);
      expect(missing.err).toContain('build the package (npm run build)');
      // As the package's build makes it: tools/cli/main.ts bundled for Node, packages external.
      await build({ absWorkingDir: root, entryPoints: ['tools/cli/main.ts'], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: join(pkg, 'dist/cli.js'), logLevel: 'error' });
      writeFileSync(join(pkg, 'package.json'), '{"type":"module"}');
      const help = await run(['sub', '--help'], { bin });
      expectOk(help, 'installed sub --help');
      expect(help.out).toMatch(/^Usage: xs-mqtt sub /);
      const pubId = id('pkg');
      expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-i', pubId, '-t', 'pkg/t', '-m', 'installed', '-q', '1'], { bin }), 'installed pub');
      await disconnectedCleanly(open, pubId);
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });

  it('--version prints the package version', async ({ expect }) => {
    const version = JSON.parse(readFileSync(root + 'package.json', 'utf8')).version;
    for (const args of [['--version'], ['sub', '--version'], ['pub', '--version']]) {
      const r = await run(args);
      expectOk(r, args.join(' '));
      expect(r.out).toBe(`xs-mqtt ${version}\n`);
    }
  });

  it('-F %j, %x, %X, %m, %I and %U print as mosquitto_sub does', async ({ expect }) => {
    const subId = id('sub-Fj');
    const sub = cli(['sub', '-h', LOCAL, '-p', String(open.port), '-i', subId, '-t', 'fj/#', '-q', '1', '-C', '2', '-F', '%j\\n%x|%X|%m|%I|%U']);
    await subscribed(open, subId);
    const t0 = Date.now();
    expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-t', 'fj/text', '-m', 'héllo "q"', '-q', '1']), 'pub');
    const file = join(tmp, 'binary.bin');
    writeFileSync(file, Buffer.from([0x00, 0xff, 0x10, 0xab]));
    expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-t', 'fj/bin', '-f', file, '-r']), 'pub -r');
    const r = await sub.done;
    const t1 = Date.now();
    expectOk(r, 'sub -F');
    const lines = r.out.split('\n');
    expect(lines.length).toBe(5); // two messages of two lines, and the final newline
    const text = JSON.parse(lines[0]);
    // mid: the packet id the broker sent it with (its log: "Sending PUBLISH to … (d0, q1, r0, m<id>, 'fj/text'").
    const mid = Number(new RegExp(`Sending PUBLISH to ${escape(subId)} \\(d0, q1, r0, m(\\d+), 'fj/text'`).exec(open.log())?.[1]);
    expect(mid).toBeGreaterThan(0);
    expect(Object.keys(text)).toEqual(['tst', 'topic', 'qos', 'retain', 'payloadlen', 'mid', 'payload']);
    expect(text).toMatchObject({ topic: 'fj/text', qos: 1, retain: 0, payloadlen: Buffer.byteLength('héllo "q"'), mid, payload: 'héllo "q"' });
    expect(text.tst).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(Date.parse(text.tst)).toBeGreaterThanOrEqual(t0 - 1);
    expect(Date.parse(text.tst)).toBeLessThanOrEqual(t1);
    const [hex, HEX, m, iso, unix] = lines[1].split('|');
    expect(hex).toBe(Buffer.from('héllo "q"').toString('hex'));
    expect(HEX).toBe(hex.toUpperCase());
    expect(Number(m)).toBe(mid);
    expect(iso).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$/);
    expect(Math.abs(Date.parse(iso.replace(/([+-]\d\d)(\d\d)$/, '$1:$2')) - t1)).toBeLessThan(60000);
    expect(unix).toMatch(/^\d{10}\.\d{9}$/);
    expect(Number(unix) * 1000).toBeGreaterThanOrEqual(t0 - 1000);
    // Not UTF-8: the payload as an array of its bytes; QoS 0: no mid, and %m is 0.
    const bin = JSON.parse(lines[2]);
    expect(bin).toMatchObject({ topic: 'fj/bin', qos: 0, retain: 0, payloadlen: 4, payload: [0, 255, 16, 171] });
    expect(bin).not.toHaveProperty('mid');
    expect(lines[3].split('|').slice(0, 3)).toEqual(['00ff10ab', '00FF10AB', '0']);
    expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-t', 'fj/bin', '-n', '-r']), 'clear');
  });

  it('-E exits once subscribed; -U with -c removes a subscription from the persistent session; -I prefixes the client id', async ({ expect }) => {
    const subId = id('sub-E');
    const base = ['sub', '-h', LOCAL, '-p', String(open.port), '-i', subId, '-c', '-q', '1'];
    const e = await run([...base, '-t', 'eu/a', '-t', 'eu/b', '-E']);
    expectOk(e, 'sub -E');
    expect(e.out).toBe('');
    expect(open.log().match(new RegExp(`Sending SUBACK to ${escape(subId)}\\b`, 'g'))?.length).toBe(2);
    await disconnectedCleanly(open, subId);
    // The session holds eu/a and eu/b: -U eu/a takes eu/a away (and -E exits on its UNSUBACK).
    expectOk(await run([...base, '-U', 'eu/a', '-E']), 'sub -U -E');
    await open.waitForLog(new RegExp(`Received UNSUBSCRIBE from ${escape(subId)}\\b`), { timeoutMs: WAIT_MS });
    expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-t', 'eu/a', '-m', 'to a', '-q', '1']), 'pub a');
    expectOk(await run(['pub', '-h', LOCAL, '-p', String(open.port), '-t', 'eu/b', '-m', 'to b', '-q', '1']), 'pub b');
    // Back, with a handler for both (the client prints only what a filter of its own matches): only
    // eu/b's message was queued for the session.
    const back = await run([...base, '-t', 'eu/#', '-v', '-W', '2']);
    expect(back.code).toBe(27);
    expect(back.out).toBe('eu/b to b\n');
    const prefixed = await run(['sub', '-h', LOCAL, '-p', String(open.port), '-I', 'cli-prefix-', '-t', 'eu/x', '-E']);
    expectOk(prefixed, 'sub -I');
    expect(open.log()).toMatch(/New client connected from 127\.0\.0\.1:\d+ as cli-prefix-\d+ /);
  });

  it('--retained-only prints the retained messages and ends at the first fresh one; --remove-retained clears them', async ({ expect }) => {
    const base = ['pub', '-h', LOCAL, '-p', String(open.port), '-q', '1', '-r'];
    expectOk(await run([...base, '-t', 'rr/a', '-m', 'kept a']), 'pub -r');
    expectOk(await run([...base, '-t', 'rr/b', '-m', 'kept b']), 'pub -r');
    const subId = id('sub-rr');
    const sub = cli(['sub', '-h', LOCAL, '-p', String(open.port), '-i', subId, '-t', 'rr/#', '-q', '1', '-v', '--retained-only', '--remove-retained']);
    await subscribed(open, subId);
    await expect.poll(() => sub.out(), { timeout: WAIT_MS }).toBe('rr/a kept a\nrr/b kept b\n');
    // Its clearing messages come back to it unretained, or this one does: either ends the run.
    await run(['pub', '-h', LOCAL, '-p', String(open.port), '-t', 'rr/fresh', '-m', 'fresh']);
    const r = await sub.done;
    expectOk(r, 'sub --retained-only');
    expect(r.out).toBe('rr/a kept a\nrr/b kept b\n');
    // Cleared: the broker sent nothing retained any more.
    const after = await run(['sub', '-h', LOCAL, '-p', String(open.port), '-t', 'rr/#', '-v', '-W', '1', '--retained-only']);
    expect(after.code).toBe(27);
    expect(after.out).toBe('');
    expect(open.log()).toMatch(new RegExp(`Received PUBLISH from ${escape(subId)} \\(d0, q1, r1, m\\d+, 'rr/a', \\.\\.\\. \\(0 bytes\\)\\)`));
  });

  it('--quiet prints no error, the exit status still tells; a connection lost and not regained is exit status 7', async ({ expect }) => {
    const port = await freePort();
    const quiet = await run(['sub', '-h', LOCAL, '-p', String(port), '-t', 'a', '--quiet']);
    expect(quiet.code).toBe(1);
    expect(quiet.err).toBe('');
    const proxy = await startProxy(open.port);
    const pubId = id('pub-lost');
    const mark = open.log().length;
    const pub = cli(['pub', '-h', LOCAL, '-p', String(proxy.port), '-i', pubId, '-t', 'lost/l', '-l', '-q', '1', '-d'], { keepStdin: true });
    pub.write('one\n');
    await open.waitForLog(new RegExp(`Sending PUBACK to ${escape(pubId)} \\(m\\d+, rc0\\)\\n`), { from: mark, timeoutMs: WAIT_MS });
    // The broker has sent it; cut only once the client has it too (else the cut may beat the PUBACK
    // through the proxy, and the message is rightly reported not acknowledged).
    await expect.poll(() => pub.err(), { timeout: WAIT_MS }).toMatch(/received PUBACK/);
    await proxy.stop(); // the link is cut and nothing listens there any more
    const r = await pub.done;
    expect(r.code).toBe(7); // mosquitto's MOSQ_ERR_CONN_LOST
    const last = r.err.trimEnd().split('\n').pop();
    expect(last).toMatch(new RegExp(`^xs-mqtt pub: connection lost and not regained: cannot connect to mqtt://127\\.0\\.0\\.1:${proxy.port}: connect ECONNREFUSED .* \\(after 1 message\\(s\\) sent\\)$`));
  });
});
