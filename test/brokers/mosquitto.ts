// Starts a real Mosquitto (Debian's /usr/sbin/mosquitto, 2.0.x) for integration tests: its own
// config in a fresh temp folder, free 127.0.0.1 ports, optional password/ACL auth, persistence and
// TLS (server-only or mutual). A broker that does not come up fails with its log, within a timeout,
// instead of hanging the test run. See ../../../shared/protocol-cases.md for the set-ups.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { accepts, freePorts, sleep } from './free-port.js';
import { testPki } from './pki.js';

export const MOSQUITTO = process.env.MOSQUITTO ?? '/usr/sbin/mosquitto';
export const MOSQUITTO_PASSWD = process.env.MOSQUITTO_PASSWD ?? 'mosquitto_passwd';

export interface MosquittoOptions {
  /** Password auth (`allow_anonymous false`); `acl` is the text of an acl_file. */
  auth?: { users: Record<string, string>; acl?: string };
  /** `persistence true` with autosave on every change: sessions and queued messages survive SIGKILL. */
  persistence?: boolean;
  /**
   * A second listener (tlsPort) with the test PKI's server certificate. requireCertificate: mutual
   * TLS (`require_certificate true`, `use_identity_as_username true`: the username is the client
   * certificate's CN, and no password is checked on that listener).
   */
  tls?: boolean | { requireCertificate?: boolean };
  /** The test PKI's keys: EC P-256 (default) or RSA 2048 (what Moddable's TLS verifies). */
  pki?: 'ec' | 'rsa';
  /** More config lines, appended as they are. */
  extraConfig?: string[];
  /**
   * Log errors, warnings, notices and information only, not every packet (`log_type all`, what the
   * tests read): for load (npm run fleet, bench:e2e), where per-packet logging would cost the broker
   * and this process more than the messages do.
   */
  quietLog?: boolean;
  /** How long start and restart may take (default 10 s). */
  startTimeoutMs?: number;
}

export interface Broker {
  /** Plain MQTT on 127.0.0.1. */
  port: number;
  /** MQTT over TLS on 127.0.0.1, when `tls` was asked for. */
  tlsPort?: number;
  /** The broker's folder: config, password and ACL files, persistence database. */
  dir: string;
  /** The CA that signed the broker's certificate (always made, whether TLS is on or not). */
  caPem: string;
  /** A CA unrelated to the broker: trusting only it must fail the handshake. */
  otherCaPem: string;
  /** A client certificate and key signed by caPem (CN `xs-mqtt-client`), with `tls`. */
  clientCertPem?: string;
  clientKeyPem?: string;
  /** A client certificate and key signed by otherCaPem, with `tls`: a mutual-TLS listener refuses them. */
  otherClientCertPem?: string;
  otherClientKeyPem?: string;
  /** The running process's id, or undefined when it is not running. */
  pid(): number | undefined;
  /** Everything the broker logged (all log types, every run of it, runs separated by a marker line). */
  log(): string;
  /**
   * Resolves with the offset just past the first match of `pattern` in log() at or after `from`
   * (default 0), waiting for it; rejects with the log after `timeoutMs` (default 10 s).
   */
  waitForLog(pattern: RegExp, opts?: { from?: number; timeoutMs?: number }): Promise<number>;
  /**
   * Resolves once the broker has finished writing its persistence database after log offset
   * `from`: its "Saving in-memory database" line is printed before the file is written, so a
   * SIGKILL right after that line can still lose the save. A TCP connection accepted after it
   * proves the (single-threaded) broker has finished: it logs the accept from a later loop turn.
   */
  saved(from?: number, timeoutMs?: number): Promise<void>;
  /** SIGTERM (Mosquitto saves its database), then waits for the exit. The folder is kept: restart() works. */
  terminate(): Promise<void>;
  /** SIGKILL: no goodbye, no save. Waits for the exit. The folder is kept: restart() works. */
  kill(): Promise<void>;
  /** Starts again with the same config, ports and persistence folder (terminating it first if running). */
  restart(): Promise<void>;
  /** Terminates (SIGKILL after 5 s) and removes the folder. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Every broker still running, killed if the test process exits while one is (a test file that
 * failed before its afterAll). A worker killed outright runs no handler: the brokers are in its
 * process group, so an interrupted run (Ctrl-C) still takes them down.
 */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

const ADDRESS_IN_USE = /Address already in use|Error: Unable to bind/i;

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Broker> {
  const pki = testPki(opts.pki);
  const dir = mkdtempSync(join(tmpdir(), 'xs-mqtt-mosquitto-'));
  const tls = opts.tls ? (opts.tls === true ? {} : opts.tls) : null;
  const timeoutMs = opts.startTimeoutMs ?? 10000;
  let logText = '';
  let proc: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let port = 0;
  let tlsPort = 0;
  const conf = join(dir, 'mosquitto.conf');

  try {
    if (opts.auth) {
      const pw = join(dir, 'passwd');
      let first = true;
      for (const [user, pass] of Object.entries(opts.auth.users)) {
        // -b: password on the command line (no prompt); -c creates the file with the first user.
        execFileSync(MOSQUITTO_PASSWD, first ? ['-c', '-b', pw, user, pass] : ['-b', pw, user, pass], { stdio: 'pipe' });
        first = false;
      }
      if (first) writeFileSync(pw, ''); // no users: nobody gets in
      if (opts.auth.acl !== undefined) writeFileSync(join(dir, 'acl'), opts.auth.acl);
    }
    if (tls) {
      writeFileSync(join(dir, 'ca.crt'), pki.caPem);
      writeFileSync(join(dir, 'server.crt'), pki.serverCertPem);
      writeFileSync(join(dir, 'server.key'), pki.serverKeyPem, { mode: 0o600 });
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  function writeConfig(): void {
    const lines = [
      // Run as root, Mosquitto drops to the `mosquitto` user, which could not read this root-owned
      // folder (keys, password file, database). Keeping root is fine for a throw-away test broker;
      // as any other user the line is ignored.
      'user root',
      // Mosquitto 2 defaults: settings below are global unless per_listener_settings is true, so
      // allow_anonymous applies to the TLS listener too.
      'per_listener_settings false',
      'log_dest stderr',
      ...(opts.quietLog ? ['log_type error', 'log_type warning', 'log_type notice', 'log_type information'] : ['log_type all']),
      'connection_messages true',
      `listener ${port} 127.0.0.1`,
    ];
    if (opts.auth) {
      lines.push('allow_anonymous false', `password_file ${join(dir, 'passwd')}`);
      if (opts.auth.acl !== undefined) lines.push(`acl_file ${join(dir, 'acl')}`);
    } else lines.push('allow_anonymous true');
    if (opts.persistence) {
      // autosave_on_changes with interval 1: the database is written after every change (a queued
      // message, a subscription), so a SIGKILL right after a PUBACK loses nothing.
      lines.push('persistence true', `persistence_location ${dir}/`, 'autosave_interval 1', 'autosave_on_changes true');
    } else lines.push('persistence false');
    if (tls) {
      lines.push(`listener ${tlsPort} 127.0.0.1`, `cafile ${join(dir, 'ca.crt')}`, `certfile ${join(dir, 'server.crt')}`, `keyfile ${join(dir, 'server.key')}`);
      if (tls.requireCertificate) lines.push('require_certificate true', 'use_identity_as_username true');
    }
    lines.push(...(opts.extraConfig ?? []));
    writeFileSync(conf, lines.join('\n') + '\n');
  }

  /** One attempt: spawn, then wait for "running" and for every port to accept. */
  async function launch(): Promise<void> {
    const from = logText.length;
    const child = spawn(MOSQUITTO, ['-c', conf], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    proc = child;
    live.add(child);
    let gone = false;
    let exitInfo = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (logText += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (logText += s));
    exited = new Promise<void>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        if (gone) return;
        gone = true;
        exitInfo = `exit code ${code} signal ${signal}`;
        live.delete(child);
        if (proc === child) proc = null;
        resolve();
      };
      child.once('exit', done);
      child.once('error', (err) => {
        logText += `\n[spawn error: ${err.message}]\n`;
        done(null, null);
      });
    });
    const deadline = performance.now() + timeoutMs;
    const ports = tls ? [port, tlsPort] : [port];
    // "running" is logged once every listener is bound; a port that accepts before it could belong
    // to some other process that took it in the free-port window.
    while (!gone && !/ running\b/.test(logText.slice(from))) {
      if (performance.now() > deadline) break;
      await sleep(20);
    }
    for (const p of ports) {
      while (!gone && performance.now() <= deadline && !(await accepts(p, 500))) await sleep(20);
    }
    if (gone) throw new StartError(`mosquitto exited during start-up (${exitInfo})`, logText.slice(from));
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new StartError(`mosquitto did not accept connections within ${timeoutMs} ms`, logText.slice(from));
    }
  }

  async function signal(sig: NodeJS.Signals, graceMs: number): Promise<void> {
    const p = proc;
    if (!p) return;
    p.kill(sig);
    const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  // Free ports can be taken between finding and binding them: new ports, a few times.
  for (let attempt = 1; ; attempt++) {
    [port, tlsPort] = await freePorts(2);
    writeConfig();
    try {
      await launch();
      break;
    } catch (err) {
      if (attempt < 5 && err instanceof StartError && ADDRESS_IN_USE.test(err.log)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  let stopped = false;
  const broker: Broker = {
    port,
    tlsPort: tls ? tlsPort : undefined,
    dir,
    caPem: pki.caPem,
    otherCaPem: pki.otherCaPem,
    clientCertPem: tls ? pki.clientCertPem : undefined,
    clientKeyPem: tls ? pki.clientKeyPem : undefined,
    otherClientCertPem: tls ? pki.otherClientCertPem : undefined,
    otherClientKeyPem: tls ? pki.otherClientKeyPem : undefined,
    pid: () => proc?.pid,
    log: () => logText,
    async waitForLog(pattern, o = {}) {
      const from = o.from ?? 0;
      const deadline = performance.now() + (o.timeoutMs ?? 10000);
      const re = new RegExp(pattern.source, pattern.flags.replace('g', '') + 'g');
      for (;;) {
        re.lastIndex = from;
        const m = re.exec(logText);
        if (m) return m.index + m[0].length;
        if (performance.now() > deadline) throw new Error(`no ${pattern} in the mosquitto log after offset ${from}:\n${logText.slice(from)}`);
        await sleep(20);
      }
    },
    async saved(from = 0, timeoutMs = 10000) {
      const at = await broker.waitForLog(/Saving in-memory database to .*\n/, { from, timeoutMs });
      const probe = connect({ host: '127.0.0.1', port });
      probe.on('error', () => {});
      try {
        await new Promise<void>((resolve, reject) => {
          probe.once('connect', resolve);
          probe.once('error', reject);
        });
        const local = probe.localPort;
        await broker.waitForLog(new RegExp(`New connection from 127\\.0\\.0\\.1:${local} `), { from: at, timeoutMs });
      } finally {
        probe.destroy();
      }
    },
    terminate: () => signal('SIGTERM', 5000),
    kill: () => signal('SIGKILL', 5000),
    async restart() {
      if (stopped) throw new Error('restart() after stop()');
      await signal('SIGTERM', 5000);
      logText += '\n----- restart -----\n';
      // Same ports: the previous process is gone and Mosquitto binds with SO_REUSEADDR.
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await signal('SIGTERM', 5000);
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
  return broker;
}

class StartError extends Error {
  readonly log: string;
  constructor(message: string, log: string) {
    super(`${message}\n----- mosquitto log -----\n${log}`);
    this.log = log;
  }
}
