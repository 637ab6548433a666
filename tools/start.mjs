// `npm start`: simulated sensors publishing over MQTT to an embedded broker (or --broker URL), a
// monitor showing what arrives, and a summary of what was sent, acknowledged, received and lost.
// The program is TypeScript (tools/sensors/main.ts, importing src/ and hosts/node/), bundled here
// by tools/run-ts.mjs, so that there is no build step to run first. Options: --help.
import { importTs, runMain } from './run-ts.mjs';

await runMain(await importTs('tools/sensors/main.ts'));
