// The embedded broker of `npm start`: Aedes (a Node MQTT broker) in this process, on a free
// 127.0.0.1 port, so that the demo needs nothing installed or running.
import { createServer, type Socket } from 'node:net';
import type { Aedes, AedesOptions } from 'aedes';

export interface EmbeddedBroker {
  host: string;
  port: number;
  /** The Aedes instance, for its hooks (`on('publish')`, `authenticate`, …): tests use them. */
  broker: Aedes;
  /** TCP connections open now. */
  readonly connections: number;
  /** Waits (at most `ms`) for every client to close its connection. */
  idle(ms: number): Promise<boolean>;
  /** Closes the broker and the listening socket. Idempotent. */
  close(): Promise<void>;
}

export async function startEmbeddedBroker(options: AedesOptions = {}): Promise<EmbeddedBroker> {
  // Loaded only when wanted: `--broker` runs do not pay for it.
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker(options);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  // Port 0: the kernel picks a free port, and we hold it from then on.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  let closing: Promise<void> | null = null;
  return {
    host: '127.0.0.1',
    port,
    broker,
    get connections() {
      return sockets.size;
    },
    async idle(ms: number) {
      const until = performance.now() + ms;
      while (sockets.size > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
      return sockets.size === 0;
    },
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        for (const s of sockets) s.destroy(); // server.close() waits for every connection to end
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}
