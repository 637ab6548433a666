// xs-mqtt's public exports.
export * from './codec/index.js';
export { validateFilter, validateTopic, topicBytes, matchTopic, decodeUtf8 } from './topic.js';
export { statusName, isRemoteError } from './session/status.js';
export { checkSuback } from './session/suback.js';
export { Session } from './session/session.js';
export type { SessionOptions, SessionEvents } from './session/session.js';
export { Client, Message } from './client.js';
export type { ClientOptions, ClientEvents, Handler } from './client.js';
export type { Host, Link, LinkEvents, Target, TlsOptions } from './host.js';
