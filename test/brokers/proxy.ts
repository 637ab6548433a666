// A TCP proxy on 127.0.0.1 in front of a broker, for faults a real network has and a broker does
// not make on its own: a half-open link (bytes silently dropped both ways, sockets kept open, no FIN
// or RST: what a dead NAT entry or a pulled cable looks like to the client) and a cut of every
// connection at once. It also records what crossed it, so a test can show what was sent in clear.
import { connect, createServer, type Socket } from 'node:net';

export interface Proxy {
  port: number;
  /** Drops every byte, both ways, on current and new connections, keeping the sockets open. */
  blackhole(): void;
  /** Forwards again (bytes dropped meanwhile stay lost). */
  resume(): void;
  /**
   * Drops each broker → client chunk that `test` picks (null: none), counting them: e.g. a lone
   * PUBCOMP, which Mosquitto writes on its own. Chunks are TCP reads, not packets: pick whole ones.
   */
  dropDown(test: ((chunk: Buffer) => boolean) | null): void;
  /** Chunks dropDown dropped so far. */
  droppedDown(): number;
  /** Destroys every current connection, both sides. New connections are still accepted. */
  cutAll(): void;
  /** Connections accepted so far. */
  accepted(): number;
  /** Bytes forwarded so far, client → broker (`up`) and broker → client (`down`), all connections. */
  captured(): { up: Buffer; down: Buffer };
  /** Cuts every connection and closes the listener. Idempotent. */
  stop(): Promise<void>;
}

export async function startProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<Proxy> {
  let dropping = false;
  let dropDown: ((chunk: Buffer) => boolean) | null = null;
  let droppedDown = 0;
  let accepted = 0;
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  const sockets = new Set<Socket>();

  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => {}); // a reset is a normal way for a proxied link to end
  };

  const server = createServer((client) => {
    accepted++;
    const broker = connect({ host: targetHost, port: targetPort });
    track(client);
    track(broker);
    client.setNoDelay(true);
    broker.setNoDelay(true);
    // Written while the broker side is still connecting, bytes wait in Node's queue.
    client.on('data', (b: Buffer) => {
      if (dropping) return;
      up.push(b);
      broker.write(b);
    });
    broker.on('data', (b: Buffer) => {
      if (dropping) return;
      if (dropDown?.(b)) return void droppedDown++;
      down.push(b);
      client.write(b);
    });
    // One side ending or failing ends the other, as a plain TCP relay would — except in a black
    // hole, which eats FIN and RST too: a half-open link tells nobody (else the broker's own
    // keepalive expiry would close our side and race the client's keepalive).
    client.once('close', () => dropping || broker.destroy());
    broker.once('close', () => dropping || client.destroy());
  });
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  let stopping: Promise<void> | null = null;

  const cutAll = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    port,
    blackhole: () => void (dropping = true),
    resume: () => void (dropping = false),
    dropDown: (test) => void (dropDown = test),
    droppedDown: () => droppedDown,
    cutAll,
    accepted: () => accepted,
    captured: () => ({ up: Buffer.concat(up), down: Buffer.concat(down) }),
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        cutAll();
      });
      return stopping;
    },
  };
}
