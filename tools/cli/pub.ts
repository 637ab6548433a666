// `xs-mqtt pub`: publishes one message, a message repeated, each line of stdin, or all of stdin,
// with the library's Client on the Node host, modelled on mosquitto_pub. It ends with a clean
// DISCONNECT once every message is out (QoS 1: acknowledged), and exits 0 only then.
import { readFileSync } from 'node:fs';
import { NOT_CONNECTED, OUTBOX_FULL, WOULD_BLOCK, sizeOfPublish, statusName, validateTopic } from '../../src/index.js';
import {
  Connection,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
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

export const PUB_USAGE = `Usage: xs-mqtt pub [options] -t TOPIC (-m TEXT | -f FILE | -l | -s | -n)

Publishes MQTT 3.1.1 messages with the xs-mqtt client, as mosquitto_pub does. It exits 0 once every
message is published (QoS 1: acknowledged by the broker; QoS 2: its exchange completed, PUBCOMP) and it
has disconnected cleanly.

The message (exactly one of):
  -m, --message TEXT        TEXT, as UTF-8
  -f, --file FILE           the contents of FILE
  -l, --stdin-line          each line of stdin, a message each (blank lines are skipped; a line may
                            hold up to 1 MiB); the connection stays open until stdin ends
  -s, --stdin-file          all of stdin, read to its end before connecting
  -n, --null-message        an empty message (with -r: clears the topic's retained message)
Publishing:
  -t, --topic TOPIC         the topic (no + or # wildcards)
  -q, --qos 0|1|2           QoS (default 0)
  -r, --retain              the broker keeps the message as the topic's retained message
      --repeat N            publish the message N times (default 1; not with -l)
      --repeat-delay S      wait S seconds between repeats (fractions allowed; default 0)
${connectionUsage('pub')}
      --help                this text

Exit status (mosquitto_pub's where they mean the same): 0 all published; 1 no connection (unreachable,
no answer) or a message not published; 2 a usage error; 5 the broker refused the connection
(CONNACK 1–5); 7 the connection was lost and not regained; 8 TLS failed (the broker's certificate not
trusted); 130 interrupted (Ctrl-C) before the end.
`;

const PUB_OPTIONS = {
  topic: { type: 'string', short: 't', multiple: true },
  message: { type: 'string', short: 'm' },
  file: { type: 'string', short: 'f' },
  'null-message': { type: 'boolean', short: 'n' },
  'stdin-line': { type: 'boolean', short: 'l' },
  'stdin-file': { type: 'boolean', short: 's' },
  qos: { type: 'string', short: 'q' },
  retain: { type: 'boolean', short: 'r' },
  repeat: { type: 'string' },
  'repeat-delay': { type: 'string' },
} as const;

/** With -l, the largest line; the client's buffers are sized for it. */
export const LINE_MAX_BYTES = 1 << 20;

type Source = 'message' | 'file' | 'null' | 'lines' | 'stdin';

interface PubConfig {
  conn: ConnectionConfig;
  topic: string;
  qos: number;
  retain: boolean;
  source: Source;
  /** The payload of -m, -f, -n (null) and -s (read later). */
  payload: Uint8Array | null;
  repeat: number;
  repeatDelayMs: number;
  help: boolean;
}

function parsePub(argv: string[]): PubConfig {
  const { values: v } = parse(argv, PUB_OPTIONS);
  if (v.help) return { help: true } as PubConfig;
  const conn = connectionConfig('pub', v);

  const topics = (v.topic as string[] | undefined) ?? [];
  if (topics.length > 1) throw new UsageError('one topic (-t) only');
  if (topics.length && conn.urlTopic !== undefined) throw new UsageError('-L and -t both give the topic: use one');
  const topic = topics[0] ?? conn.urlTopic;
  if (topic === undefined) throw new UsageError('no topic: give one with -t (or as the path of -L)');
  try {
    validateTopic(topic);
  } catch (err) {
    throw new UsageError(`-t ${JSON.stringify(topic)}: ${(err as Error).message}`);
  }

  const qos = integer('-q', v.qos, 0, 0, 2);

  const given: Array<[Source, string]> = [];
  if (v.message !== undefined) given.push(['message', '-m']);
  if (v.file !== undefined) given.push(['file', '-f']);
  if (v['null-message']) given.push(['null', '-n']);
  if (v['stdin-line']) given.push(['lines', '-l']);
  if (v['stdin-file']) given.push(['stdin', '-s']);
  if (given.length === 0) throw new UsageError('no message: give one of -m TEXT, -f FILE, -l, -s or -n');
  if (given.length > 1) throw new UsageError(`${given.map((g) => g[1]).join(' and ')}: give only one message source`);
  const source = given[0][0];

  let payload: Uint8Array | null = null;
  if (source === 'message') payload = Buffer.from(v.message as string, 'utf8');
  else if (source === 'file') {
    try {
      payload = readFileSync(v.file as string);
    } catch (err) {
      throw new UsageError(`-f: cannot read ${v.file as string}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  const repeat = integer('--repeat', v.repeat, 1, 1, 1000000000);
  if (source === 'lines' && (v.repeat !== undefined || v['repeat-delay'] !== undefined)) throw new UsageError('--repeat and --repeat-delay do not go with -l');
  return { conn, topic, qos, retain: !!v.retain, source, payload, repeat, repeatDelayMs: seconds('--repeat-delay', v['repeat-delay'], 0) * 1000, help: false };
}

/** Reads stdin to its end. */
async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** The lines of stdin as bytes (without the '\n'), blank ones skipped; pulled one at a time (backpressure). */
async function* stdinLines(): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    let buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let nl: number;
    while ((nl = buf.indexOf(0x0a)) >= 0) {
      const line = buf.subarray(0, nl);
      buf = buf.subarray(nl + 1);
      if (line.length) yield line;
    }
    rest = buf;
  }
  if (rest.length) yield rest;
}

/** Runs `xs-mqtt pub`; resolves to the exit status. */
export async function runPub(argv: string[]): Promise<number> {
  const o = parseCommand('pub', argv, parsePub, PUB_USAGE);
  if (typeof o === 'number') return o;
  if (o.source === 'stdin') o.payload = await readStdin(); // before connecting, as mosquitto_pub does

  // Buffers: the largest message known now (or a line of -l) fits the QoS 0 scratch buffer and the
  // QoS 1 outbox; the outbox holds a window's worth of small messages besides.
  const largest = o.source === 'lines' ? sizeOfPublish(o.topic, new Uint8Array(LINE_MAX_BYTES), o.qos) : sizeOfPublish(o.topic, o.payload, o.qos);
  const room = Math.max(1 << 20, largest);
  const pending = new Set<number>(); // QoS 1 packet ids awaiting PUBACK
  const conn = new Connection(
    o.conn,
    { txBufferSize: room + 1024, outboxBytes: room, outboxMessages: 64, inflightWindow: 20, offlineQos0: 'refuse' },
    {
      onPublished: (id) => {
        pending.delete(id);
        conn.debug(`received PUBACK (id ${id})`);
      },
    },
    false,
  );
  const client = conn.client;

  let interrupted = '';
  let wakeAbort: () => void = () => {};
  const aborted = new Promise<void>((r) => (wakeAbort = r));
  void conn.failed.then(() => wakeAbort());
  const offSignals = onSignals('pub', (sig) => {
    interrupted = sig;
    wakeAbort();
    conn.changed();
  });

  let sent = 0;
  let error = '';
  /** Publishes one message, waiting while the outbox or the link is full, or (QoS 0) while offline. */
  const publish = async (payload: Uint8Array | null): Promise<boolean> => {
    for (;;) {
      if (conn.failure || interrupted || error) return false;
      if (o.qos === 0 && !client.online) {
        await conn.change();
        continue;
      }
      const r = client.publish(o.topic, payload, o.qos, o.retain);
      if (r >= 0) {
        sent++;
        if (o.qos) pending.add(r);
        if (o.conn.debug) conn.debug(`sending PUBLISH (q${o.qos}, r${o.retain ? 1 : 0}${o.qos ? `, id ${r}` : ''}, '${o.topic}', ${payload ? payload.length : 0} bytes)`);
        return true;
      }
      if (r === OUTBOX_FULL || r === NOT_CONNECTED) await conn.change(); // a PUBACK or a connect wakes it
      else if (r === WOULD_BLOCK) await conn.change(10); // the link is full: no event says when it drains
      else {
        error = `cannot publish: ${statusName(r)}`;
        return false;
      }
    }
  };

  try {
    conn.start();
    await Promise.race([conn.connected, aborted]);
    if (client.online || conn.everConnected) {
      if (o.source === 'lines') {
        // An ending (a failure, Ctrl-C) while stdin is quiet destroys stdin, which ends the loop
        // (one listener for the whole run, not a Promise.race per line, which would pile up).
        void aborted.then(() => process.stdin.destroy());
        let n = 0;
        try {
          for await (const line of stdinLines()) {
            n++;
            if (sizeOfPublish(o.topic, line, o.qos) > room) {
              error = `line ${n} (${line.length} bytes) is longer than -l sends (${LINE_MAX_BYTES} bytes)`;
              break;
            }
            if (!(await publish(line))) break;
          }
        } catch (err) {
          // A destroyed stdin ends its iterator with ERR_STREAM_PREMATURE_CLOSE; anything else is news.
          if (!conn.failure && !interrupted) error = `reading stdin: ${(err as Error).message}`;
        }
        if (conn.failure || interrupted || error) process.stdin.destroy(); // stop reading: let the process end
      } else {
        for (let k = 0; k < o.repeat; k++) {
          if (k && o.repeatDelayMs) {
            const end = performance.now() + o.repeatDelayMs;
            while (performance.now() < end && !conn.failure && !interrupted) await conn.change(end - performance.now());
          }
          if (!(await publish(o.payload))) break;
        }
      }
      while (pending.size && !conn.failure && !interrupted && !error) await conn.change();
    }
  } finally {
    offSignals();
    conn.stop();
  }

  const unacked = pending.size ? `; ${pending.size} QoS 1 message(s) not acknowledged` : '';
  if (conn.failure || error) {
    conn.error(`${conn.failure || error}${sent ? ` (after ${sent} message(s) sent${unacked})` : ''}`);
    return conn.failure ? conn.failureCode : EXIT_FAILURE;
  }
  if (interrupted) {
    conn.error(`interrupted (${interrupted}): ${sent} message(s) sent${unacked}`);
    return EXIT_INTERRUPTED;
  }
  conn.debug(`${sent} message(s) published${o.qos ? ' and acknowledged' : ''}; disconnected`);
  return EXIT_OK;
}
