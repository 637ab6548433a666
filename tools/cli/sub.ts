// `xs-mqtt sub`: subscribes to topic filters with the library's Client on the Node host and prints
// each message's payload on stdout, modelled on mosquitto_sub. It runs until Ctrl-C (a clean
// DISCONNECT, exit 0), -C messages or the -W timeout (exit 27, as mosquitto_sub); a lost
// connection is re-established by the Client, which also renews the subscriptions.
import { SUBACK_FAILURE, matchTopic, validateFilter } from '../../src/index.js';
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
Printing:
  -v, --verbose             "TOPIC PAYLOAD" instead of the payload alone
  -N, --no-newline          no newline after each message
  -F, --format FORMAT       print FORMAT for each message, where %t is the topic, %p the payload,
                            %q the QoS, %r the retain flag (0 or 1), %l the payload's length in
                            bytes, %% a %, and \\n, \\t, \\r, \\\\ a newline, tab, return, backslash;
                            a newline follows unless -N
Ending:
  -C, --count N             exit after printing N messages
  -W, --timeout S           exit with status 27 S seconds after connecting (fractions allowed)
${connectionUsage('sub')}
      --help                this text

Exit status: 0 -C messages printed, or Ctrl-C/SIGTERM; 1 no connection (refused, unreachable) or
every subscription refused; 2 a usage error; 27 the -W timeout.
`;

const SUB_OPTIONS = {
  topic: { type: 'string', short: 't', multiple: true },
  'filter-out': { type: 'string', short: 'T', multiple: true },
  qos: { type: 'string', short: 'q' },
  'skip-retained': { type: 'boolean', short: 'R' },
  verbose: { type: 'boolean', short: 'v' },
  'no-newline': { type: 'boolean', short: 'N' },
  format: { type: 'string', short: 'F' },
  count: { type: 'string', short: 'C' },
  timeout: { type: 'string', short: 'W' },
} as const;

/** A piece of a -F format: literal bytes, or a field (t, p, q, r, l). */
type Part = Buffer | 't' | 'p' | 'q' | 'r' | 'l';

interface SubConfig {
  conn: ConnectionConfig;
  filters: string[];
  filtersOut: string[];
  qos: number;
  skipRetained: boolean;
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
      else if (d === 't' || d === 'p' || d === 'q' || d === 'r' || d === 'l') {
        flush();
        parts.push(d);
      } else throw new UsageError(`-F: unknown field %${d ?? ''} (known: %t %p %q %r %l %%)`);
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
  if (!filters.length) throw new UsageError('no topic filter: give at least one with -t (or as the path of -L)');
  const timeoutS = seconds('-W', v.timeout, 0);
  if (v.timeout !== undefined && timeoutS <= 0) throw new UsageError('-W must be more than 0 seconds');
  return {
    conn,
    filters,
    filtersOut: ((v['filter-out'] as string[] | undefined) ?? []).map((f) => checkFilter('-T', f)),
    qos: integer('-q', v.qos, 0, 0, 2),
    skipRetained: !!v['skip-retained'],
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
        process.stderr.write(`xs-mqtt sub: the broker refused the subscription to '${filter}'\n`);
        refused.add(filter);
        if (refused.size === new Set(o.filters).size) finish(EXIT_FAILURE, 'every subscription was refused');
      },
    },
    true,
  );
  void conn.failed.then((why) => finish(EXIT_FAILURE, why));

  const out = process.stdout;
  out.on('error', () => finish(EXIT_OK)); // EPIPE: the reader went away (| head)
  const fBytes = o.filters.map((f) => Buffer.from(f, 'utf8'));
  const outBytes = o.filtersOut.map((f) => Buffer.from(f, 'utf8'));
  let printed = 0;
  let pieces: Buffer[] = []; // a message larger than the receive buffer, gathered

  const print = (m: Message, payload: Uint8Array) => {
    const td = m.topicData;
    const ts = m.topicOffset;
    const te = ts + m.topicLength;
    if (o.skipRetained && m.retain) return;
    for (const f of outBytes) if (matchTopic(f, 0, f.length, td, ts, te)) return;
    const chunks: Uint8Array[] = [];
    if (o.format) {
      for (const part of o.format) {
        if (typeof part !== 'string') chunks.push(part);
        else if (part === 'p') chunks.push(payload);
        else if (part === 't') chunks.push(td.subarray(ts, te));
        else chunks.push(Buffer.from(String(part === 'q' ? m.qos : part === 'r' ? (m.retain ? 1 : 0) : payload.length)));
      }
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

  const offSignals = onSignals('sub', () => finish(EXIT_OK));
  try {
    conn.start();
    await end;
  } finally {
    offSignals();
    conn.stop();
  }
  if (endMessage) process.stderr.write(`xs-mqtt sub: ${endMessage}\n`);
  return endCode;
}
