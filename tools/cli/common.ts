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

/** Exit statuses. 27 is mosquitto_sub's for -W (MOSQ_ERR_TIMEOUT). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
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
  username: { type: 'string', short: 'u' },
  pw: { type: 'string', short: 'P' },
  keepalive: { type: 'string', short: 'k' },
  'disable-clean-session': { type: 'boolean', short: 'c' },
  retries: { type: 'string' },
  debug: { type: 'boolean', short: 'd' },
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
  /** The topic in the URL's path, if any. */
  urlTopic?: string;
  /** For messages: the broker as a URL, without credentials. */
  label: string;
}

/** parseArgs over CONNECTION_OPTIONS plus the command's own; a parse error is a UsageError. */
export function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>>(
  argv: string[],
  own: T,
): { values: Record<string, string | boolean | string[] | undefined> } {
  try {
    const { values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: { ...CONNECTION_OPTIONS, ...own } });
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
  if (!clean && (v.id === undefined || v.id === '')) throw new UsageError('-c (a persistent session) needs a client id: give one with -i');
  const clientId = v.id ?? `xs-mqtt-${tool}-${randomBytes(4).toString('hex')}`;

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

/** The Node host, noting how each link ended (the Client only reports a status). */
class CliHost extends NodeHost {
  /** Whether the latest link opened, and why it closed. */
  linkOpened = false;
  linkReason = '';

  constructor(private readonly log: (line: string) => void) {
    super();
  }

  override open(target: Target, events: LinkEvents): Link {
    this.linkOpened = false;
    this.linkReason = '';
    const scheme = target.tls ? 'mqtts' : 'mqtt';
    this.log(`opening ${scheme}://${target.host}:${target.port}`);
    return super.open(target, {
      onOpen: () => {
        this.linkOpened = true;
        this.log(`${target.tls ? 'TCP and TLS' : 'TCP'} link up; sending CONNECT`);
        events.onOpen();
      },
      onData: (b, o, l) => events.onData(b, o, l),
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
  everConnected = false;

  private readonly host: CliHost;
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
        const failedAttempt = !this.onlineThisAttempt;
        this.onlineThisAttempt = false;
        if (failedAttempt) this.failsInRow++;
        events.onDisconnect?.(status, retryMs, reason);
        if (retryMs < 0) this.fail(why); // a refusal: the Client has stopped
        else if (failedAttempt && this.failsInRow > config.retries && !(retryForever && this.everConnected)) {
          const attempts = this.failsInRow > 1 ? ` (${this.failsInRow} attempts)` : '';
          this.fail(`${why}${attempts}`);
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

  private fail(why: string): void {
    if (this.failure) return;
    this.failure = why;
    this.client.stop();
    this.resolveFailed(why);
  }

  /** A disconnect status, for a person: the refusal's code, or what became of the link. Called before onDisconnect resets the attempt's state. */
  private describe(status: number): string {
    const label = this.config.label;
    const connack = CONNACK_TEXT[status];
    if (connack) return `connection refused by ${label}: ${statusName(status)} (${connack})`;
    if (status === CONNECTION_LOST) {
      const reason = this.host.linkReason;
      if (!this.host.linkOpened) {
        // 'closed' is the Client closing a link that did not open within openTimeoutMs.
        return reason === 'closed' || !reason ? `cannot connect to ${label}: no connection within ${TIMEOUT_MS / 1000} s` : `cannot connect to ${label}: ${reason}`;
      }
      if (!this.onlineThisAttempt) return `${label} closed the connection before CONNACK (${reason || 'closed'}): is it an MQTT ${this.config.tls ? 'TLS ' : ''}listener?`;
      return `connection to ${label} lost (${reason || 'closed'})`;
    }
    if (status === CONNACK_TIMEOUT) return `no CONNACK from ${label} within ${TIMEOUT_MS / 1000} s`;
    return `connection to ${label} ended: ${statusName(status)}`;
  }
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
