// The codec's public surface: constants and statuses, encoders, the decoder, UTF-8 helpers.
export * from './constants.js';
export { sizeOfVarint, writeVarint } from './varint.js';
export { utf8, checkUtf8, STR_TEXT, STR_TOPIC, STR_FILTER, STR_DATA } from './utf8.js';
export * from './encode.js';
export { Decoder } from './decoder.js';
