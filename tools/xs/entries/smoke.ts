/// <reference path="../xs-globals.d.ts" />
// Smallest proof the codec runs in XS: encode a PUBLISH, decode it back, print what came out.
import { Decoder, EV_PACKET, decodeUtf8, writePublish } from '../../../src/index.js';

const buf = new Uint8Array(64);
const end = writePublish(buf, 0, 'devices/d1/telemetry', '{"t":21.5}', 1, false, false, 42);
let hexText = '';
for (let i = 0; i < end; i++) hexText += (buf[i] < 16 ? '0' : '') + buf[i].toString(16);
const d = new Decoder(256);
d.awaitingConnack = false;
const ev = d.push(buf, 0, end);
print('encoded', end, 'bytes:', hexText);
print(
  'decoded', ev === EV_PACKET ? 'EV_PACKET' : ev, 'type', d.type, 'qos', d.qos, 'id', d.packetId,
  'topic', decodeUtf8(d.topicData, d.topicOffset, d.topicOffset + d.topicLength),
  'payload', decodeUtf8(d.data, d.payloadOffset, d.payloadOffset + d.payloadLength),
  'consumed', d.consumed,
);
