// What `xs-mqtt pub` and `xs-mqtt sub` share: the connection options (host, port, URL, client id,
// credentials, keepalive, session, will, TLS), their parsing with node:util parseArgs, and a
// Connection that runs the library's Client on the Node host with the command-line policy on
// failures: the first failed connection attempt ends the run (as with mosquitto_pub/_sub) unless
// --retries allows more, and every ending is one line on stderr.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { NodeHost } from '../../hosts/node/index.js';
import {
  CONNACK_TIMEOUT,
  CONNECTION_LOST,
  Client,
  Decoder,
  NEED_MORE,
  REFUSED_BAD_CREDENTIALS,
  REFUSED_IDENTIFIER,
  REFUSED_NOT_AUTHORIZED,
  REFUSED_PROTOCOL_VERSION,
  REFUSED_SERVER_UNAVAILABLE,
  STOPPED,
  statusName,
  validateTopic,
} from '../../src/index.js';
import type { ClientEvents, ClientOptions, Link, LinkEvents, Target, TlsOptions } from '../../src/index.js';

/**
 * Exit statuses: mosquitto_pub's and mosquitto_sub's where they mean the same (libmosquitto's
 * MOSQ_ERR_* numbers: 5 CONN_REFUSED, 7 CONN_LOST, 8 TLS, 27 TIMEOUT); 2 for a usage error
 * (mosquitto uses 1) and 130 for an interrupted pub.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** The broker refused the connection (CONNACK 1–5). mosquitto_sub exits with the CONNACK code itself. */
export const EXIT_REFUSED = 5;
/** The connection was lost and not regained. */
export const EXIT_LOST = 7;
/** TLS failed: the broker's certificate not trusted, a handshake refused. */
export const EXIT_TLS = 8;
export const EXIT_TIMEOUT = 27;
export const EXIT_INTERRUPTED = 130;

/** A mistake in the command line: one line on stderr and EXIT_USAGE. */
export class UsageError extends Error {}

/** How long TCP + TLS, and then the CONNACK, may take. */
export const TIMEOUT_MS = 10000;

/** The options both commands take, in parseArgs form. */
export const CONNECTION_OPTIONS = {
  host: { type: 'string', short: 'h' },
  port: { type: 'string', short: 'p' },
  url: { type: 'string', short: 'L' },
  id: { type: 'string', short: 'i' },
  'id-prefix': { type: 'string', short: 'I' },
  username: { type: 'string', short: 'u' },
  pw: { type: 'string', short: 'P' },
  keepalive: { type: 'string', short: 'k' },
  'disable-clean-session': { type: 'boolean', short: 'c' },
  retries: { type: 'string' },
  debug: { type: 'boolean', short: 'd' },
  quiet: { type: 'boolean' },
  'will-topic': { type: 'string' },
  'will-payload': { type: 'string' },
  'will-qos': { type: 'string' },
  'will-retain': { type: 'boolean' },
  tls: { type: 'boolean' },
  cafile: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'tls-servername': { type: 'string' },
  help: { type: 'boolean' },
} as const;

/** The usage text's part for CONNECTION_OPTIONS; `tool` is pub or sub. */
export function connectionUsage(tool: string): string {
  return `Connection:
  -h, --host HOST           broker name or IP address (default localhost)
  -p, --port PORT           broker port (default 1883, or 8883 with TLS)
  -L, --url URL             mqtt://[user[:password]@]host[:port][/topic], or mqtts://… for TLS;
                            in place of -h, -p, -u, -P${tool === 'pub' ? ' and -t' : ' (the topic is one more -t)'}
  -i, --id ID               client id (default xs-mqtt-${tool}-<8 random hex digits>)
  -I, --id-prefix PREFIX    client id PREFIX followed by the process id (for a broker's
                            clientid_prefixes), in place of -i
  -u, --username USER       user name
  -P, --pw PASSWORD         password (needs -u)
  -k, --keepalive S         keepalive in seconds, 0 to 65535 (default 60; 0: none)
  -c, --disable-clean-session
                            a persistent session (clean session off): the broker keeps the
                            subscriptions and QoS 1/2 messages of client id -i, which is required
      --retries N           connection attempts that may fail in a row before giving up (default 0:
                            the first failure ends the run, as with mosquitto_${tool})${
                              tool === 'sub' ? ';\n                            once connected, a lost connection is retried without end' : ''
                            }
  -d, --debug               connection events on stderr
      --quiet               no error messages on stderr (the exit status still tells; usage
                            errors are still printed)
Will (published by the broker if the connection dies without a DISCONNECT):
      --will-topic TOPIC    the will's topic
      --will-payload TEXT   its payload (default empty)
      --will-qos 0|1|2      its QoS (default 0)
      --will-retain         retain it
TLS (the broker's certificate is always verified: there is no --insecure):
      --tls                 connect with TLS, trusting Node's CA store unless --cafile (also implied
                            by mqtts:// and by each option below)
      --cafile FILE         PEM CA certificate(s) the broker's certificate must chain to
      --cert FILE           PEM client certificate, for mutual TLS (with --key)
      --key FILE            PEM private key of --cert
      --tls-servername NAME the name the certificate must carry (default: the host)`;
}

type ParsedValues = {
  [K in keyof typeof CONNECTION_OPTIONS]?: (typeof CONNECTION_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};

/** Everything a Connection needs, parsed and checked. */
export interface ConnectionConfig {
  tool: string;
  host: string;
  port: number;
  tls?: TlsOptions;
  clientId: string;
  clean: boolean;
  keepAliveSec: number;
  username?: string;
  password?: string;
  will?: { topic: string; payload: string; qos: number; retain: boolean };
  retries: number;
  debug: boolean;
  quiet: boolean;
  /** The topic in the URL's path, if any. */
  urlTopic?: string;
  /** For messages: the broker as a URL, without credentials. */
  label: string;
}

/**
 * `--interval -5` as `--interval=-5`: parseArgs takes a value that starts with a dash for an option
 * ("ambiguous"), while a negative number after an option that wants a value is that value, to be
 * refused by its range check with a message that says so.
 */
export function negativeValues(argv: string[], options: Record<string, { type: string; short?: string }>): string[] {
  const wantsValue = new Set<string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue;
    wantsValue.add(`--${name}`);
    if (o.short) wantsValue.add(`-${o.short}`);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (wantsValue.has(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(a.startsWith('--') ? `${a}=${next}` : `${a}${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** parseArgs over CONNECTION_OPTIONS plus the command's own; a parse error is a UsageError. */
export function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>>(
  argv: string[],
  own: T,
): { values: Record<string, string | boolean | string[] | undefined> } {
  try {
    const options = { ...CONNECTION_OPTIONS, ...own };
    const { values } = parseArgs({ args: negativeValues(argv, options), strict: true, allowPositionals: false, options });
    return { values: values as Record<string, string | boolean | string[] | undefined> };
  } catch (err) {
    // parseArgs's messages are long and mention `strict`; keep the first sentence.
    const m = (err as Error).message.replace(/\. To specify .*$/s, '').replace(/\.$/, '');
    throw new UsageError(m);
  }
}

/** An integer option in [min, max], or `dflt` when absent. */
export function integer(name: string, v: unknown, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(v)}`);
  return n;
}

/** A non-negative number of seconds (fractions allowed). */
export function seconds(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!(n >= 0) || !Number.isFinite(n)) throw new UsageError(`${name} must be a number of seconds, not ${JSON.stringify(v)}`);
  return n;
}

function readPem(option: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${option}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

interface UrlParts {
  secure: boolean;
  host: string;
  port?: number;
  username?: string;
  password?: string;
  topic?: string;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part; // a lone '%' is itself
  }
}

/**
 * mqtt[s]://[user[:password]@]host[:port][/topic]. Parsed by hand, not with URL: a topic filter's
 * `#` would be a fragment and `+` is meant as itself. Percent-escapes are decoded (%23 is `#`).
 */
export function parseUrl(url: string): UrlParts {
  const m = /^(mqtts?):\/\/(?:([^@/]*)@)?(\[[^\]/]+\]|[^:/@]*)(?::([^/]*))?(?:\/(.*))?$/s.exec(url);
  if (!m) throw new UsageError(`-L: not an mqtt:// or mqtts:// URL: ${JSON.stringify(url)}`);
  const [, scheme, userinfo, rawHost, rawPort, path] = m;
  const host = rawHost.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new UsageError(`-L: no host in ${JSON.stringify(url)}`);
  const parts: UrlParts = { secure: scheme === 'mqtts', host };
  if (rawPort !== undefined) parts.port = integer('-L: the port', rawPort, 0, 1, 65535);
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    parts.username = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
    if (colon >= 0) parts.password = decode(userinfo.slice(colon + 1));
  }
  if (path) parts.topic = decode(path);
  return parts;
}

/** The connection options of a parsed command line; `tool` names the command in messages and the default id. */
export function connectionConfig(tool: string, v: ParsedValues): ConnectionConfig {
  const url = v.url !== undefined ? parseUrl(v.url) : null;
  if (url) {
    for (const [opt, name] of [['host', '-h'], ['port', '-p'], ['username', '-u'], ['pw', '-P']] as const) {
      if (v[opt] !== undefined) throw new UsageError(`-L and ${name} both give the ${opt === 'pw' ? 'password' : opt === 'username' ? 'user name' : opt}: use one`);
    }
  }
  const anyTls = v.tls || v.cafile !== undefined || v.cert !== undefined || v.key !== undefined || v['tls-servername'] !== undefined;
  if (url && !url.secure && anyTls) throw new UsageError('TLS options go with mqtts://, not mqtt://');
  const secure = url ? url.secure : !!anyTls;
  const host = url ? url.host : (v.host ?? 'localhost');
  if (!host) throw new UsageError('-h: the host is empty');
  const port = url?.port ?? integer('-p', v.port, secure ? 8883 : 1883, 1, 65535);

  let tls: TlsOptions | undefined;
  if (secure) {
    tls = {};
    if (v.cafile !== undefined) tls.ca = readPem('--cafile', v.cafile);
    if ((v.cert === undefined) !== (v.key === undefined)) throw new UsageError('--cert and --key go together');
    if (v.cert !== undefined) tls.cert = readPem('--cert', v.cert);
    if (v.key !== undefined) tls.key = readPem('--key', v.key);
    if (v['tls-servername'] !== undefined) tls.servername = v['tls-servername'];
  }

  const username = url?.username ?? v.username;
  const password = url?.password ?? v.pw;
  if (password !== undefined && username === undefined) throw new UsageError('a password (-P) needs a user name (-u)');

  const clean = !v['disable-clean-session'];
  if (v.id !== undefined && v['id-prefix'] !== undefined) throw new UsageError('-i and -I both give the client id: use one');
  if (!clean && (v.id === undefined || v.id === '')) throw new UsageError('-c (a persistent session) needs a client id: give one with -i');
  const clientId = v.id ?? (v['id-prefix'] !== undefined ? `${v['id-prefix']}${process.pid}` : `xs-mqtt-${tool}-${randomBytes(4).toString('hex')}`);

  let will: ConnectionConfig['will'];
  if (v['will-topic'] !== undefined) {
    try {
      validateTopic(v['will-topic']);
    } catch (err) {
      throw new UsageError(`--will-topic: ${(err as Error).message}`);
    }
    will = { topic: v['will-topic'], payload: v['will-payload'] ?? '', qos: integer('--will-qos', v['will-qos'], 0, 0, 2), retain: !!v['will-retain'] };
  } else if (v['will-payload'] !== undefined || v['will-qos'] !== undefined || v['will-retain']) {
    throw new UsageError('--will-payload, --will-qos and --will-retain need --will-topic');
  }

  const c: ConnectionConfig = {
    tool,
    host,
    port,
    tls,
    clientId,
    clean,
    keepAliveSec: integer('-k', v.keepalive, 60, 0, 65535),
    username,
    password,
    will,
    retries: integer('--retries', v.retries, 0, 0, 1000000),
    debug: !!v.debug,
    quiet: !!v.quiet,
    label: `${secure ? 'mqtts' : 'mqtt'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
  };
  if (url?.topic !== undefined) c.urlTopic = url.topic;
  return c;
}

const CONNACK_TEXT: Record<number, string> = {
  [REFUSED_PROTOCOL_VERSION]: 'CONNACK 1: unacceptable protocol version',
  [REFUSED_IDENTIFIER]: 'CONNACK 2: client identifier rejected',
  [REFUSED_SERVER_UNAVAILABLE]: 'CONNACK 3: server unavailable',
  [REFUSED_BAD_CREDENTIALS]: 'CONNACK 4: bad user name or password',
  [REFUSED_NOT_AUTHORIZED]: 'CONNACK 5: not authorized',
};

/** The Node host, noting whether each link opened and why it closed (also for npm start and the fleet). */
export class CliHost extends NodeHost {
  /** Whether the latest link opened, and why it closed. */
  linkOpened = false;
  linkReason = '';
  /**
   * Sees every packet the broker sends (decoded a second time, beside the client's own decoder):
   * for what the Client reports no event of, such as a SUBACK or UNSUBACK (sub -E). Null: none.
   */
  tap: ((packet: Decoder) => void) | null = null;

  constructor(private readonly log: (line: string) => void = () => {}) {
    super();
  }

  override open(target: Target, events: LinkEvents): Link {
    this.linkOpened = false;
    this.linkReason = '';
    const scheme = target.tls ? 'mqtts' : 'mqtt';
    this.log(`opening ${scheme}://${target.host}:${target.port}`);
    let tap = this.tap;
    const dec = tap ? new Decoder(4096) : null; // a PUBLISH larger than this comes in pieces: fine
    const tapBytes = (b: Uint8Array, o: number, l: number) => {
      while (l > 0 && tap && dec) {
        const ev = dec.push(b, o, l);
        o += dec.consumed;
        l -= dec.consumed;
        if (ev === NEED_MORE) break;
        if (ev < 0) tap = null; // the client sees the same bytes and ends the connection
        else tap(dec);
      }
    };
    return super.open(target, {
      onOpen: () => {
        this.linkOpened = true;
        this.log(`${target.tls ? 'TCP and TLS' : 'TCP'} link up; sending CONNECT`);
        events.onOpen();
      },
      onData: (b, o, l) => {
        const n = events.onData(b, o, l); // what the client took: the rest comes again (flow control)
        if (tap) tapBytes(b, o, n);
        return n;
      },
      onWritable: () => events.onWritable(),
      onClose: (reason) => {
        this.linkReason = reason;
        events.onClose(reason);
      },
    });
  }
}

export type ConnectionEvents = ClientEvents;

/**
 * The Client on the Node host, with the command line's failure policy. `failed` resolves with a
 * one-line reason when the run must end: a refusal (CONNACK 1, 2, 4, 5: the Client stops itself), or
 * more than `retries` failed attempts in a row; after the first connection, `retryForever` (sub)
 * lets the Client reconnect without limit.
 */
export class Connection {
  readonly client: Client;
  readonly config: ConnectionConfig;
  /** Resolves at the first CONNACK. */
  readonly connected: Promise<void>;
  /** Resolves with why the run must end (the client is stopped by then). Never rejects. */
  readonly failed: Promise<string>;
  /** The failure, once `failed` resolved. */
  failure = '';
  /** Its exit status: EXIT_REFUSED, EXIT_TLS, EXIT_LOST or EXIT_FAILURE. */
  failureCode = EXIT_FAILURE;
  everConnected = false;

  /** The Node host under the client: why links ended, and a tap on what the broker sends. */
  readonly host: CliHost;
  private failsInRow = 0;
  private onlineThisAttempt = false;
  private resolveConnected: () => void = () => {};
  private resolveFailed: (why: string) => void = () => {};
  private readonly listeners: Array<() => void> = [];

  constructor(config: ConnectionConfig, extra: Partial<ClientOptions>, events: ConnectionEvents, retryForever: boolean) {
    this.config = config;
    this.connected = new Promise((r) => (this.resolveConnected = r));
    this.failed = new Promise((r) => (this.resolveFailed = r));
    this.host = new CliHost((line) => this.debug(line));
    const options: ClientOptions = {
      host: config.host,
      port: config.port,
      tls: config.tls,
      clientId: config.clientId,
      clean: config.clean,
      keepAliveSec: config.keepAliveSec,
      username: config.username,
      password: config.password,
      will: config.will,
      reconnectMinMs: 1000,
      reconnectMaxMs: 30000,
      openTimeoutMs: TIMEOUT_MS,
      connackTimeoutMs: TIMEOUT_MS,
      ...extra,
    };
    this.client = new Client(this.host, options, {
      onConnect: (present, kept) => {
        this.everConnected = true;
        this.onlineThisAttempt = true;
        this.failsInRow = 0;
        this.debug(`connected as ${config.clientId} (CONNACK 0, session present: ${present ? 'yes' : 'no'}${kept ? '' : ', the broker lost the session'})`);
        this.resolveConnected();
        events.onConnect?.(present, kept);
        this.changed();
      },
      onDisconnect: (status, retryMs, reason) => {
        if (status === STOPPED) return; // our own stop(): not a failure
        const why = this.describe(status);
        const code = exitCodeFor(status, this.host, this.everConnected, !!config.tls);
        const failedAttempt = !this.onlineThisAttempt;
        this.onlineThisAttempt = false;
        if (failedAttempt) this.failsInRow++;
        events.onDisconnect?.(status, retryMs, reason);
        if (retryMs < 0) this.fail(why, code); // a refusal: the Client has stopped
        else if (failedAttempt && this.failsInRow > config.retries && !(retryForever && this.everConnected)) {
          const attempts = this.failsInRow > 1 ? ` (${this.failsInRow} attempts)` : '';
          this.fail(`${code === EXIT_LOST ? 'connection lost and not regained: ' : ''}${why}${attempts}`, code);
        } else this.debug(`${this.everConnected && !failedAttempt ? 'connection lost' : 'connection failed'}: ${why}; retrying in ${retryMs} ms`);
        this.changed();
      },
      onPublished: (id) => {
        events.onPublished?.(id);
        this.changed();
      },
      onSubscribed: (filter, granted) => {
        events.onSubscribed?.(filter, granted);
        this.changed();
      },
    });
  }

  start(): void {
    this.debug(`connecting to ${this.config.label} as ${this.config.clientId}`);
    this.client.start();
  }

  /** Sends DISCONNECT (if connected) and stops reconnecting. */
  stop(): void {
    if (this.client.online) this.debug('sending DISCONNECT');
    this.client.stop();
  }

  /** An error line on stderr, unless --quiet. */
  error(line: string): void {
    if (!this.config.quiet) process.stderr.write(`xs-mqtt ${this.config.tool}: ${line}\n`);
  }

  /** A line on stderr with -d. */
  debug(line: string): void {
    if (this.config.debug) process.stderr.write(`xs-mqtt ${this.config.tool}: ${line}\n`);
  }

  /** Resolves at the next connection event (connect, disconnect, acknowledgement), or after `ms`. */
  change(ms = 1000): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const listeners = this.listeners;
      function done(): void {
        clearTimeout(timer);
        const i = listeners.indexOf(done);
        if (i >= 0) listeners.splice(i, 1);
        resolve();
      }
      listeners.push(done);
    });
  }

  /** Wakes whoever waits in change() (also for events of the caller's own). */
  changed(): void {
    const l = this.listeners.splice(0);
    for (const f of l) f();
  }

  private fail(why: string, code: number): void {
    if (this.failure) return;
    this.failure = why;
    this.failureCode = code;
    this.client.stop();
    this.resolveFailed(why);
  }

  /** A disconnect status, for a person. Called before onDisconnect resets the attempt's state. */
  private describe(status: number): string {
    return describeEnd(status, this.host, this.config.label, this.onlineThisAttempt, !!this.config.tls);
  }
}

/**
 * Why a connection ended, for a person, in one line: the refusal's code (CONNACK 1…5), or what
 * became of the link in the host's words (ECONNREFUSED, ENOTFOUND, a certificate not trusted, …).
 * `host` says whether the link opened and why it closed; `online`: the CONNACK had come.
 */
export function describeEnd(status: number, host: CliHost, label: string, online: boolean, tls: boolean): string {
  const connack = CONNACK_TEXT[status];
  if (connack) return `connection refused by ${label}: ${statusName(status)} (${connack})`;
  if (status === CONNECTION_LOST) {
    const reason = host.linkReason;
    if (!host.linkOpened) {
      // 'closed' is the Client closing a link that did not open within openTimeoutMs.
      return reason === 'closed' || !reason ? `cannot connect to ${label}: no connection within ${TIMEOUT_MS / 1000} s` : `cannot connect to ${label}: ${reason}`;
    }
    if (!online) return `${label} closed the connection before CONNACK (${reason || 'closed'}): is it an MQTT ${tls ? 'TLS ' : ''}listener?`;
    return `connection to ${label} lost (${reason || 'closed'})`;
  }
  if (status === CONNACK_TIMEOUT) return `no CONNACK from ${label} within ${TIMEOUT_MS / 1000} s`;
  return `connection to ${label} ended: ${statusName(status)}`;
}

/**
 * The exit status for a connection that ended with `status` and is not retried: mosquitto's where it
 * means the same. `everConnected`: it had been online (then it was lost, and not regained).
 */
export function exitCodeFor(status: number, host: CliHost, everConnected: boolean, tls: boolean): number {
  if (CONNACK_TEXT[status]) return EXIT_REFUSED;
  if (everConnected) return EXIT_LOST;
  // The link did not open over TLS for a reason of TLS's (Node's and OpenSSL's words), not of TCP's.
  if (tls && status === CONNECTION_LOST && !host.linkOpened && /cert|ssl|tls|handshake|self[- ]signed|alert/i.test(host.linkReason)) return EXIT_TLS;
  return EXIT_FAILURE;
}

/** Ctrl-C and SIGTERM call `onStop` once; a second one, a second later, ends the process at once. */
export function onSignals(tool: string, onStop: (signal: NodeJS.Signals) => void): () => void {
  let first = 0;
  const handler = (sig: NodeJS.Signals) => {
    if (!first) {
      first = performance.now();
      onStop(sig);
    } else if (performance.now() - first > 1000) {
      process.stderr.write(`xs-mqtt ${tool}: ${sig} again: exiting at once\n`);
      process.exit(EXIT_INTERRUPTED);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Prints a usage error for `tool` and returns EXIT_USAGE. */
/**
 * Parses a command's options: the options, or the exit status when the run ends here (a usage
 * error, or --help printed).
 */
export function parseCommand<T extends { help: boolean }>(tool: string, argv: string[], parseFn: (argv: string[]) => T, usage: string): T | number {
  let o: T;
  try {
    o = parseFn(argv);
  } catch (err) {
    if (err instanceof UsageError) return usageError(tool, err);
    throw err;
  }
  if (!o.help) return o;
  process.stdout.write(usage);
  return EXIT_OK;
}

export function usageError(tool: string, err: UsageError): number {
  process.stderr.write(`xs-mqtt ${tool}: ${err.message} (xs-mqtt ${tool} --help lists the options)\n`);
  return EXIT_USAGE;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
