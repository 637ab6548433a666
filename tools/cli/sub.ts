// `xs-mqtt sub`: subscribes to topic filters with the library's Client on the Node host and prints
// each message's payload on stdout, modelled on mosquitto_sub. It runs until Ctrl-C (a clean
// DISCONNECT, exit 0), -C messages or the -W timeout (exit 27, as mosquitto_sub); a lost
// connection is re-established by the Client, which also renews the subscriptions.
import { SUBACK, SUBACK_FAILURE, UNSUBACK, matchTopic, statusName, validateFilter } from '../../src/index.js';
import type { Message } from '../../src/index.js';
import {
  Connection,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_TIMEOUT,
  UsageError,
  connectionConfig,
  connectionUsage,
  integer,
  onSignals,
  parse,
  parseCommand,
  seconds,
  type ConnectionConfig,
} from './common.js';

export const SUB_USAGE = `Usage: xs-mqtt sub [options] -t FILTER [-t FILTER …]

Subscribes with the xs-mqtt client and prints each message's payload on stdout (the bytes as sent:
UTF-8 text for text payloads), one per line, as mosquitto_sub does. It runs until Ctrl-C (which
disconnects cleanly and exits 0), -C or -W. A lost connection is re-established, with backoff, and
the subscriptions renewed.

Subscribing:
  -t, --topic FILTER        a topic filter (+ and # wildcards allowed); repeatable
  -T, --filter-out FILTER   do not print messages whose topic matches FILTER; repeatable
  -q, --qos 0|1|2           the subscriptions' QoS (default 0)
  -R, --skip-retained       do not print messages with the retain flag (stale retained messages
                            sent on subscribing)
      --retained-only       print only messages with the retain flag, and exit 0 at the first
                            one without it
      --remove-retained     clear each retained message received (publish an empty retained
                            message to its topic, QoS 1); -T keeps topics out of it
  -U, --unsubscribe FILTER  unsubscribe from FILTER (with -c: a filter the persistent session
                            still holds); repeatable
  -E, --exit-after-subscribe
                            exit 0 once the broker has acknowledged every subscription (and -U)
Printing:
  -v, --verbose             "TOPIC PAYLOAD" instead of the payload alone
  -N, --no-newline          no newline after each message
  -F, --format FORMAT       print FORMAT for each message, where %t is the topic, %p the payload,
                            %x and %X the payload in hex (lower, upper case), %q the QoS, %r the
                            retain flag (0 or 1), %l the payload's length in bytes, %m the message
                            id (0 at QoS 0), %I the local time (ISO 8601, 2026-12-06T01:50:00+0100),
                            %U the Unix time (seconds.nanoseconds), %j the message as JSON
                            ({"tst","topic","qos","retain","payloadlen","mid","payload"}, as
                            mosquitto_sub's, tst in UTC), %% a %, and \\n, \\t, \\r, \\\\ a
                            newline, tab, return, backslash; a newline follows unless -N
Ending:
  -C, --count N             exit after printing N messages
  -W, --timeout S           exit with status 27 S seconds after connecting (fractions allowed)
${connectionUsage('sub')}
      --help                this text

Exit status (mosquitto_sub's where they mean the same): 0 -C messages printed, -E, --retained-only
done, or Ctrl-C/SIGTERM; 1 no connection (unreachable, no answer) or every subscription refused;
2 a usage error; 5 the broker refused the connection (CONNACK 1–5); 8 TLS failed (the broker's
certificate not trusted); 27 the -W timeout.
`;

const SUB_OPTIONS = {
  topic: { type: 'string', short: 't', multiple: true },
  'filter-out': { type: 'string', short: 'T', multiple: true },
  qos: { type: 'string', short: 'q' },
  'skip-retained': { type: 'boolean', short: 'R' },
  'retained-only': { type: 'boolean' },
  'remove-retained': { type: 'boolean' },
  unsubscribe: { type: 'string', short: 'U', multiple: true },
  'exit-after-subscribe': { type: 'boolean', short: 'E' },
  verbose: { type: 'boolean', short: 'v' },
  'no-newline': { type: 'boolean', short: 'N' },
  format: { type: 'string', short: 'F' },
  count: { type: 'string', short: 'C' },
  timeout: { type: 'string', short: 'W' },
} as const;

/** The fields of a -F format, after the %. */
const FIELDS = 'tpqrlmxXjIU';

/** A piece of a -F format: literal bytes, or a field (one of FIELDS). */
type Part = Buffer | string;

interface SubConfig {
  conn: ConnectionConfig;
  filters: string[];
  filtersOut: string[];
  unsubscribe: string[];
  qos: number;
  skipRetained: boolean;
  retainedOnly: boolean;
  removeRetained: boolean;
  exitAfterSubscribe: boolean;
  verbose: boolean;
  newline: boolean;
  format: Part[] | null;
  count: number; // 0: no limit
  timeoutMs: number; // 0: none
  help: boolean;
}

/** Compiles a -F format; a % or \ sequence it does not know is a usage error. */
export function compileFormat(f: string): Part[] {
  const parts: Part[] = [];
  let lit = '';
  const flush = () => {
    if (lit) parts.push(Buffer.from(lit, 'utf8'));
    lit = '';
  };
  for (let i = 0; i < f.length; i++) {
    const c = f[i];
    if (c !== '%' && c !== '\\') {
      lit += c;
      continue;
    }
    const d = f[++i];
    if (c === '%') {
      if (d === '%') lit += '%';
      else if (d !== undefined && FIELDS.includes(d)) {
        flush();
        parts.push(d);
      } else throw new UsageError(`-F: unknown field %${d ?? ''} (known: ${[...FIELDS].map((f) => `%${f}`).join(' ')} %%)`);
    } else {
      const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\' };
      if (d === undefined || !(d in esc)) throw new UsageError(`-F: unknown escape \\${d ?? ''} (known: \\n \\t \\r \\\\)`);
      lit += esc[d];
    }
  }
  flush();
  return parts;
}

function checkFilter(option: string, f: string): string {
  try {
    validateFilter(f);
  } catch (err) {
    throw new UsageError(`${option} ${JSON.stringify(f)}: ${(err as Error).message}`);
  }
  return f;
}

function parseSub(argv: string[]): SubConfig {
  const { values: v } = parse(argv, SUB_OPTIONS);
  if (v.help) return { help: true } as SubConfig;
  const conn = connectionConfig('sub', v);
  const filters = ((v.topic as string[] | undefined) ?? []).map((f) => checkFilter('-t', f));
  if (conn.urlTopic !== undefined) filters.unshift(checkFilter('-L', conn.urlTopic));
  const unsubscribe = ((v.unsubscribe as string[] | undefined) ?? []).map((f) => checkFilter('-U', f));
  if (!filters.length && !unsubscribe.length) throw new UsageError('no topic filter: give at least one with -t (or as the path of -L), or -U');
  if (v['skip-retained'] && v['retained-only']) throw new UsageError('-R and --retained-only: skipping retained messages and printing only them makes no sense');
  const timeoutS = seconds('-W', v.timeout, 0);
  if (v.timeout !== undefined && timeoutS <= 0) throw new UsageError('-W must be more than 0 seconds');
  return {
    conn,
    filters,
    filtersOut: ((v['filter-out'] as string[] | undefined) ?? []).map((f) => checkFilter('-T', f)),
    unsubscribe,
    qos: integer('-q', v.qos, 0, 0, 2),
    skipRetained: !!v['skip-retained'],
    retainedOnly: !!v['retained-only'],
    removeRetained: !!v['remove-retained'],
    exitAfterSubscribe: !!v['exit-after-subscribe'],
    verbose: !!v.verbose,
    newline: !v['no-newline'],
    format: v.format !== undefined ? compileFormat(v.format as string) : null,
    count: integer('-C', v.count, 0, 1, 2 ** 31),
    timeoutMs: timeoutS * 1000,
    help: false,
  };
}

const NEWLINE = Buffer.from('\n');
const SPACE = Buffer.from(' ');
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** %I: the local time in ISO 8601 with its offset, as mosquitto_sub prints it (strftime %FT%T%z). */
export function isoLocal(d: Date): string {
  const off = -d.getTimezoneOffset();
  const a = Math.abs(off);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${off < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}${pad(a % 60)}`
  );
}

/** The wall-clock time in µs since the epoch, from the monotonic clock's origin. */
function nowUs(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * %j: the message as mosquitto_sub's JSON (tst, topic, qos, retain, payloadlen, mid at QoS 1/2,
 * payload). The payload is a string when it is UTF-8, else an array of its bytes (as mosquitto's
 * cJSON build), null when empty. tst is UTC with microseconds (mosquitto writes local time).
 */
export function messageJson(topic: string, qos: number, retain: boolean, mid: number, payload: Uint8Array, us: number): string {
  const o: Record<string, unknown> = {
    tst: `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${pad(us % 1000000, 6)}Z`,
    topic,
    qos,
    retain: retain ? 1 : 0,
    payloadlen: payload.length,
  };
  if (qos > 0) o.mid = mid;
  let text: string | null = null;
  try {
    text = utf8Strict.decode(payload);
  } catch {
    // not UTF-8: the bytes
  }
  o.payload = payload.length === 0 ? null : text !== null ? text : Array.from(payload);
  return JSON.stringify(o);
}

/** Runs `xs-mqtt sub`; resolves to the exit status. */
export async function runSub(argv: string[]): Promise<number> {
  const o = parseCommand('sub', argv, parseSub, SUB_USAGE);
  if (typeof o === 'number') return o;

  let ended = false;
  let endCode = EXIT_OK;
  let endMessage = '';
  let wakeEnd: () => void = () => {};
  const end = new Promise<void>((r) => (wakeEnd = r));
  const finish = (code: number, message = '') => {
    if (ended) return;
    ended = true;
    endCode = code;
    endMessage = message;
    wakeEnd();
  };

  const refused = new Set<string>();
  const removals = new Set<number>(); // --remove-retained: QoS 1 ids of the clearing messages, until PUBACK
  let firstConnect = true;
  const conn = new Connection(
    o.conn,
    // A 64 KiB receive buffer: larger messages come in pieces, joined below.
    { rxBufferSize: 65536, rxQueueBytes: 1 << 20 },
    {
      onConnect: (present) => {
        if (firstConnect || !present) conn.debug(`subscribing to ${o.filters.map((f) => `'${f}'`).join(', ')} (QoS ${o.qos})`);
        if (firstConnect && o.timeoutMs) setTimeout(() => finish(EXIT_TIMEOUT, `timed out after ${o.timeoutMs / 1000} s (-W)`), o.timeoutMs).unref();
        firstConnect = false;
      },
      onSubscribed: (filter, granted) => {
        if (granted !== SUBACK_FAILURE) return;
        conn.error(`the broker refused the subscription to '${filter}'`);
        refused.add(filter);
        if (refused.size === new Set(o.filters).size) finish(EXIT_FAILURE, 'every subscription was refused');
      },
      onPublished: (id) => {
        removals.delete(id);
      },
    },
    true,
  );
  void conn.failed.then((why) => finish(conn.failureCode, why));

  if (o.exitAfterSubscribe) {
    // -E: the Client reports no SUBACK that grants, so the host's tap counts them (one SUBSCRIBE,
    // and one UNSUBSCRIBE, per filter); the end is once every one is acknowledged.
    let subacks = 0;
    let denied = 0;
    let unsubacks = 0;
    conn.host.tap = (p) => {
      if (p.type === SUBACK) {
        subacks++;
        for (let i = 0; i < p.payloadLength; i++) if (p.data[p.payloadOffset + i] === 0x80) denied++;
      } else if (p.type === UNSUBACK) unsubacks++;
      else return;
      if (subacks < o.filters.length || unsubacks < o.unsubscribe.length) return;
      if (denied && denied === subacks) finish(EXIT_FAILURE, 'every subscription was refused');
      else finish(EXIT_OK, denied ? `the broker refused ${denied} of ${subacks} subscriptions` : '');
    };
  }

  const out = process.stdout;
  out.on('error', () => finish(EXIT_OK)); // EPIPE: the reader went away (| head)
  const fBytes = o.filters.map((f) => Buffer.from(f, 'utf8'));
  const outBytes = o.filtersOut.map((f) => Buffer.from(f, 'utf8'));
  let printed = 0;
  let pieces: Buffer[] = []; // a message larger than the receive buffer, gathered

  const field = (part: string, m: Message, topic: Uint8Array, payload: Uint8Array): Uint8Array => {
    switch (part) {
      case 'p':
        return payload;
      case 't':
        return topic;
      case 'x':
      case 'X': {
        const h = Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('hex');
        return Buffer.from(part === 'X' ? h.toUpperCase() : h);
      }
      case 'I':
        return Buffer.from(isoLocal(new Date()));
      case 'U': {
        const ns = (performance.timeOrigin + performance.now()) * 1e6;
        return Buffer.from(`${Math.floor(ns / 1e9)}.${pad(Math.floor(ns % 1e9), 9)}`);
      }
      case 'j':
        return Buffer.from(messageJson(Buffer.from(topic).toString('utf8'), m.qos, m.retain, conn.client.session.message.packetId, payload, nowUs()));
      case 'm':
        return Buffer.from(String(conn.client.session.message.packetId));
      default:
        return Buffer.from(String(part === 'q' ? m.qos : part === 'r' ? (m.retain ? 1 : 0) : payload.length));
    }
  };

  const print = (m: Message, payload: Uint8Array) => {
    const td = m.topicData;
    const ts = m.topicOffset;
    const te = ts + m.topicLength;
    if (o.skipRetained && m.retain) return;
    for (const f of outBytes) if (matchTopic(f, 0, f.length, td, ts, te)) return;
    if (o.removeRetained && m.retain) {
      // An empty retained message clears the topic's (QoS 1, as mosquitto_sub): kept until acknowledged.
      const id = conn.client.publish(td.subarray(ts, te), null, 1, true);
      if (id > 0) removals.add(id);
      else conn.error(`cannot clear the retained message of '${m.topic}': ${statusName(id)}`);
    }
    const chunks: Uint8Array[] = [];
    if (o.format) {
      const topic = td.subarray(ts, te);
      for (const part of o.format) chunks.push(typeof part !== 'string' ? part : field(part, m, topic, payload));
    } else {
      if (o.verbose) chunks.push(td.subarray(ts, te), SPACE);
      chunks.push(payload);
    }
    if (o.newline) chunks.push(NEWLINE);
    out.write(Buffer.concat(chunks)); // a copy: the client reuses its buffers
    printed++;
    // After the handler returns (the session acknowledges a QoS 1 message then), not inside it.
    if (o.count && printed >= o.count) setImmediate(() => finish(EXIT_OK));
  };

  const onMessage = (m: Message) => {
    if (ended || (o.count && printed >= o.count)) return;
    if (o.retainedOnly && !m.retain) {
      // --retained-only: the first message that is not retained ends the run, unprinted.
      setImmediate(() => finish(EXIT_OK));
      return;
    }
    if (m.payloadLength === m.messageLength) return print(m, m.payload);
    if (m.fragmentOffset === 0) pieces = [];
    pieces.push(Buffer.from(m.payload)); // copied: the piece is gone after this call
    if (m.fragmentOffset + m.payloadLength === m.messageLength) {
      const whole = Buffer.concat(pieces);
      pieces = [];
      print(m, whole);
    }
  };

  // The Client calls every handler whose filter matches: a message is printed by the first of them.
  o.filters.forEach((filter, i) => {
    conn.client.subscribe(filter, o.qos, (m) => {
      for (let j = 0; j < i; j++) {
        if (matchTopic(fBytes[j], 0, fBytes[j].length, m.topicData, m.topicOffset, m.topicOffset + m.topicLength)) return;
      }
      onMessage(m);
    });
  });
  for (const f of o.unsubscribe) conn.client.unsubscribe(f);

  const offSignals = onSignals('sub', () => finish(EXIT_OK));
  try {
    conn.start();
    await end;
    // --remove-retained: the clearing messages go out before the DISCONNECT (bounded).
    const until = performance.now() + 5000;
    while (removals.size && conn.client.online && performance.now() < until) await conn.change(until - performance.now());
  } finally {
    offSignals();
    conn.stop();
  }
  if (endMessage) conn.error(endMessage);
  return endCode;
}
