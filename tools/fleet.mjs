// `npm run fleet`: a fleet of simulated devices (real xs-mqtt Clients on the Node host, in this
// process) publishing to a broker — a Mosquitto spawned for the run, the in-process Aedes, or any
// broker at a URL — with monitors that count what arrives and measure the latency; a table at the end.
// The program is TypeScript (tools/fleet/main.ts, importing src/, hosts/node/, tools/sensors/ and
// test/brokers/mosquitto.ts), bundled by tools/run-ts.mjs: no build step to run first. Options: --help.
import { importTs, runMain } from './run-ts.mjs';

await runMain(await importTs('tools/fleet/main.ts'));
