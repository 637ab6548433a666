// xs-mqtt's public exports.
export * from './codec/index.js';
export { validateFilter, validateTopic, matchTopic, decodeUtf8 } from './topic.js';
export { InflightIds } from './session/inflight.js';
export { statusName, isRemoteError } from './session/status.js';
export { checkSuback } from './session/suback.js';
