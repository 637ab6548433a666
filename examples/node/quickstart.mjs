// xs-mqtt on Node in 15 lines: connect with a URL, subscribe with a wildcard, publish at QoS 1,
// receive text, end cleanly.   node examples/node/quickstart.mjs [mqtt://broker:1883]
// (In a project: import { connect } from 'xs-mqtt/node'. test/examples.test.ts runs this file.)
import { connect } from '../../dist/node.js';

const client = connect(process.argv[2] ?? 'mqtt://localhost:1883');
await client.connected(10_000);                       // rejects with the reason if the broker refuses
const got = new Promise((resolve) => {
  client.subscribe('quickstart/#', 1, (m) => {        // the message object is reused: read it now
    console.log(`${m.topic}: ${m.text}`);
    resolve();
  });
});
client.publish('quickstart/hello', 'hello from xs-mqtt', 1);
await got;
console.log(`ended, ${await client.end()} message(s) left unacknowledged`);
