// The device on the real Moddable runtime: apps built with the Moddable SDK's mcconfig and run in its
// simulator (mcsim, headless) against a real Mosquitto, through tools/moddable/sim.mjs. The SDK is
// found through $MODDABLE. Without it these tests skip with one line saying how to get it; where
// .ci/run found ../shared/moddable/setup.sh (XS_MQTT_REQUIRE_SIM=1), a missing SDK is a failure.
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs tools without declarations
import { buildApp, ensureBuilt, HOW_TO_GET_THE_SDK, sdk, simRequired, startApp } from '../tools/moddable/sim.mjs';
import { startMosquitto } from './brokers/mosquitto.js';
import type { Broker } from './brokers/mosquitto.js';

const root = new URL('..', import.meta.url).pathname;
const have = !!sdk();
if (!have && !simRequired()) console.log('test/moddable.test.ts skipped: ' + HOW_TO_GET_THE_SDK);

describe('the Moddable SDK is there when CI says it must be', () => {
  it.runIf(simRequired())('$MODDABLE names a built SDK', () => {
    expect(sdk(), HOW_TO_GET_THE_SDK).toBeTruthy();
  });
});

describe.runIf(have)('on the real Moddable runtime (mcsim) against Mosquitto', () => {
  let broker: Broker;
  beforeAll(async () => {
    ensureBuilt();
    broker = await startMosquitto({ tls: true });
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
  });

  it('publishing, receiving and dispatching allocate nothing per operation (Instrumentation, collector off)', async () => {
    const id = 'alloc' + process.pid;
    const n = 1000;
    const app = await buildApp({ manifest: root + 'test/moddable/alloc/manifest.json', config: { port: broker.port, clientId: id, n }, instrument: true });
    const run = await startApp(app.so);
    const feeder = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'feed' + process.pid, reconnectPeriod: 0 });
    const seen: Record<string, { slots: number; chunks: number }> = {};
    try {
      for (;;) {
        const m = await run.next(/^alloc: (?:send (\w+) (\d+)|done|(\w+) n=\d+ slots=(-?\d+) chunks=(-?\d+)|offline.*)$/, 120_000);
        if (m[0] === 'alloc: done') break;
        if (m[0].startsWith('alloc: offline')) throw new Error('the app went offline: ' + m[0] + '\n' + run.output());
        if (m[1]) {
          const qos = m[1] === 'rx1' ? 1 : 0;
          for (let i = 0; i < Number(m[2]); i++) await feeder.publishAsync(`xsalloc/${id}/in/x`, 'message ' + i, { qos });
        } else seen[m[3]] = { slots: Number(m[4]), chunks: Number(m[5]) };
      }
    } finally {
      await feeder.endAsync();
      await run.stop();
    }
    console.log('allocation per ' + n + ' operations (bytes):', JSON.stringify(seen));
    // The control publishes to a new string topic each time: if the counters could not see an
    // allocation, it would pass as 0 too.
    expect(seen.control.slots + seen.control.chunks).toBeGreaterThan(n * 16);
    // The harness's own turns cost nothing, so what the rows show is the library's.
    expect(seen.idle).toEqual({ slots: 0, chunks: 0 });
    for (const row of ['pub0', 'pub0s', 'pub1', 'pub1s', 'rx0', 'rx1']) {
      // One slot is 32 bytes here: anything done per operation would be at least n × 16 bytes. A
      // once-only 1–2 slots (a property table growing) is not per operation.
      expect(seen[row], row).toBeDefined();
      expect(seen[row].chunks, row + ' chunks').toBe(0);
      expect(seen[row].slots, row + ' slots').toBeLessThanOrEqual(64);
    }
  }, 300_000);
});
