// The README's Node quick start is a file, run here as a user runs it, against a real Mosquitto.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto } from './brokers/mosquitto.js';
import type { Broker } from './brokers/mosquitto.js';
import { run } from './spawn.js';

const root = new URL('..', import.meta.url).pathname;
let broker: Broker;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => broker?.stop());

describe('examples/', () => {
  it('node/quickstart.mjs: connects by URL, gets its own QoS 1 message back by wildcard, ends with nothing left', async () => {
    const r = await run(process.execPath, [root + 'examples/node/quickstart.mjs', `mqtt://127.0.0.1:${broker.port}`], { cwd: root, timeoutMs: 20_000, name: 'quickstart' });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe('quickstart/hello: hello from xs-mqtt\nended, 0 message(s) left unacknowledged\n');
    // It published at QoS 1 and disconnected cleanly.
    expect(broker.log()).toMatch(/Received PUBLISH from xs-mqtt-\w+ \(d0, q1, r0, m\d+, 'quickstart\/hello'/);
    expect(broker.log()).toMatch(/Received DISCONNECT from xs-mqtt-/);
  });

  it('node/quickstart.mjs: a broker that is not there is an error with its reason, not a hang', async () => {
    const r = await run(process.execPath, [root + 'examples/node/quickstart.mjs', 'mqtt://127.0.0.1:1'], { cwd: root, timeoutMs: 20_000, name: 'quickstart' });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/ECONNREFUSED|refused/);
  });
});
