// The broker of a fleet run: a Mosquitto spawned for the run (the default), the embedded Aedes of
// `npm start` (--broker aedes), or any broker at a URL (--broker mqtt://… or mqtts://…).
import { existsSync, readFileSync } from 'node:fs';
import { MOSQUITTO, startMosquitto } from '../../test/brokers/mosquitto.js';
import { startEmbeddedBroker } from '../sensors/broker.js';
import type { Link } from './device.js';

export interface FleetBroker {
  link: Link;
  /** For people: what and where, without a password. */
  label: string;
  kind: 'mosquitto' | 'aedes' | 'url';
  /** Waits (at most `ms`) for the clients' connections to close, then stops a broker of ours. */
  close(ms: number): Promise<void>;
}

/** Not a usage error: something the machine lacks or refused. Exit code 1. */
export class SetupError extends Error {}

export const INSTALL_MOSQUITTO = 'sudo apt-get install -y mosquitto';

/**
 * The config lines added to the test's Mosquitto set-up (startMosquitto: loopback listener,
 * anonymous, no persistence):
 * - (quietLog: no per-packet logging, which at a thousand messages a second would cost the broker
 *   and this process more than the messages do)
 * - max_queued_messages 100000 (default 1000): should a monitor fall behind, that shows as latency
 *   instead of messages the broker drops once 1000 are queued for it.
 */
const MOSQUITTO_CONFIG = [
  'connection_messages false',
  'max_queued_messages 100000',
];

export async function spawnMosquitto(): Promise<FleetBroker> {
  if (!existsSync(MOSQUITTO)) {
    throw new SetupError(
      `Mosquitto is not installed (no ${MOSQUITTO}). Install it with:\n\n    ${INSTALL_MOSQUITTO}\n\n` +
        `or run against the in-process Aedes (--broker aedes) or a broker of your own (--broker mqtt://host:port).`,
    );
  }
  let b;
  try {
    b = await startMosquitto({ extraConfig: MOSQUITTO_CONFIG, quietLog: true });
  } catch (err) {
    throw new SetupError(`Mosquitto did not start: ${(err as Error).message}`);
  }
  const version = /mosquitto version (\S+) running/.exec(b.log())?.[1] ?? '';
  const broker = b;
  return {
    link: { host: '127.0.0.1', port: b.port },
    label: `Mosquitto ${version} spawned on mqtt://127.0.0.1:${b.port}`.replace('  ', ' '),
    kind: 'mosquitto',
    async close() {
      await broker.stop(); // SIGTERM: it closes the connections left
    },
  };
}

export async function embeddedAedes(): Promise<FleetBroker> {
  const b = await startEmbeddedBroker();
  return {
    link: { host: b.host, port: b.port },
    label: `Aedes in this process on mqtt://${b.host}:${b.port}`,
    kind: 'aedes',
    async close(ms: number) {
      await b.idle(ms);
      await b.close();
    },
  };
}

export function urlBroker(link: Link, label: string): FleetBroker {
  return { link, label, kind: 'url', close: async () => {} };
}

/**
 * The open-file limit of this process (its soft RLIMIT_NOFILE: Node raises it to the hard limit at
 * start-up, and a spawned Mosquitto inherits it), or null where /proc does not say (not Linux).
 */
export function openFileLimit(): { soft: number; hard: number } | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m) return null;
    const n = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: n(m[1]), hard: n(m[2]) };
  } catch {
    return null;
  }
}

/** Beyond the sockets: stdio, epoll, esbuild's and Mosquitto's pipes, … (about 20 in practice). */
const SPARE_FILES = 32;

/**
 * Files this process needs open: a socket per device and per monitor (two for each monitor with a
 * broker that outlives the run: its session is purged by a second connection while the first
 * closes), and with the broker in-process, its end of every connection too.
 */
export function filesNeeded(devices: number, monitors: number, broker: 'mosquitto' | 'aedes' | 'url'): number {
  const clients = devices + monitors * (broker === 'url' ? 2 : 1);
  return clients * (broker === 'aedes' ? 2 : 1) + SPARE_FILES;
}
