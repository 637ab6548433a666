// Aedes (a Node MQTT broker) in-process on a free 127.0.0.1 port: a second, independent broker
// implementation, and one whose hooks (`broker.on('publish', …)`, authenticate, …) tests can use.
// aedes 1.x: the `Aedes` class, started with the async `Aedes.createBroker()`.
import { createServer, type Socket } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';

export interface AedesBroker {
  port: number;
  broker: Aedes;
  /** Closes the broker (disconnecting its clients) and the listening server. Idempotent. */
  stop(): Promise<void>;
}

export async function startAedes(options: AedesOptions = {}): Promise<AedesBroker> {
  const broker = await Aedes.createBroker(options);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  // Port 0: the kernel picks a free port and we hold it, so there is no race to retry.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  let stopping: Promise<void> | null = null;
  return {
    port,
    broker,
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        // server.close() waits for every connection to end: make sure none lingers.
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return stopping;
    },
  };
}
