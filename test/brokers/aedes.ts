// Aedes (a Node MQTT broker) in-process on a free 127.0.0.1 port: a second, independent broker
// implementation, and one whose hooks (`broker.on('publish', …)`, authenticate, …) tests can use.
// It is the embedded broker of `npm start` (tools/sensors/broker.ts), under the tests' names.
import type { Aedes, AedesOptions } from 'aedes';
import { startEmbeddedBroker } from '../../tools/sensors/broker.js';

export interface AedesBroker {
  port: number;
  broker: Aedes;
  /** Closes the broker (disconnecting its clients) and the listening server. Idempotent. */
  stop(): Promise<void>;
}

export async function startAedes(options: AedesOptions = {}): Promise<AedesBroker> {
  const b = await startEmbeddedBroker(options);
  return { port: b.port, broker: b.broker, stop: () => b.close() };
}
