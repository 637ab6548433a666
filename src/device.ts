// What an app on the device imports as "xs-mqtt" (the library's manifest_mqtt.json maps the name to
// dist/xs/index.js, built from this file): the client and what its users need. On the device every
// export and every function the bundle keeps costs preloaded slots in flash (32 B each on the lin
// simulator, 16 B on an ESP32), so the codec, the sans-IO Session and the topic helpers stay out;
// they remain in the package's Node entry (src/index.ts) and in "xs-mqtt/codec".
export { Client, Message } from './client.js';
export type { ClientOptions, ClientEvents, Handler } from './client.js';
export type { Host, Link, LinkEvents, Target, TlsOptions } from './host.js';
export { topicBytes } from './topic.js';
export { statusName } from './session/status.js';
export { NOT_CONNECTED, NO_MEMORY, OUTBOX_FULL, QOS0_DROPPED, STOPPED, SUBACK_FAILURE, WOULD_BLOCK } from './codec/constants.js';
