// The allocation proof on the real Moddable runtime (test/moddable.test.ts builds this with
// `mcconfig -m -p lin -i` and runs it in mcsim against a real Mosquitto). The library is included
// and preloaded as any app includes it (manifest_mqtt.json). Each phase runs its workload once
// to warm up, then N times with the collector off, and traces what the Instrumentation counters
// moved by (bytes of slots and of chunks):
//   alloc: <phase> n=<N> slots=<bytes> chunks=<bytes>
// Phases: pub0 / pub0s (QoS 0, topic as bytes / from a set of 4 strings), pub1 / pub1s (QoS 1, each
// acknowledged), rx0 / rx1 (the test publishes N messages at that QoS; each is dispatched to a
// handler), pub0p / pub0q (QoS 0 with a 16- / 64-character string payload), pub1p (QoS 1 with the 16-character one): measured, not zero, idle (the same number of timer turns doing nothing: the harness's own cost, which
// must be 0 too), and control (a publish whose topic is a new string each time: it must allocate).
// One repeating timer drives everything: a Timer.set per step would itself allocate.
import config from "mc/config";
import Debug from "debug";
import Instrumentation from "instrumentation";
import Timer from "timer";
import { Client, topicBytes } from "xs-mqtt";
import { ModdableHost } from "xs-mqtt/moddable";

const N = Number(config.n ?? 1000);
const WARM = 100;
const BATCH = 25;
const SLOTS = Instrumentation.map("XS Slot Heap Used");
const CHUNKS = Instrumentation.map("XS Chunk Heap Used");
const id = String(config.clientId);
const base = "xsalloc/" + id;
const bytesTopic = topicBytes(base + "/out/b");
const stringTopics = [base + "/out/s0", base + "/out/s1", base + "/out/s2", base + "/out/s3"];
const payload = new Uint8Array(32).fill(0x61);
const PHASES = ["idle", "pub0", "pub0s", "pub1", "pub1s", "rx0", "rx1", "pub0p", "pub0q", "pub1p", "control"];
const textPayload = "temperature=21.5"; // 16 characters: what a string payload costs
const longPayload = textPayload + ";humidity=40.2;pressure=1013.2;battery=3.71;okay"; // 64 characters: the same

let phase = -1; // index in PHASES; -1 until subscribed
let name = "";
let warm = true;
let left = 0; // operations still to start in this pass
let pending = 0; // operations not finished (acknowledged, received)
let ready = false; // the pass is over: the timer reports it
let wait = 0; // timer turns to wait before the next step
let s0 = 0, c0 = 0;
let i = 0;

const client = new Client(new ModdableHost(), {
  host: String(config.broker), port: Number(config.port), clientId: id, clean: true, keepAliveSec: 60,
  outboxMessages: 16, inflightWindow: 8, outboxBytes: 4096,
}, {
  onConnect() {
    client.subscribe(base + "/in/#", 1, onMessage);
    client.publish(base + "/in/ping", payload, 1); // its echo says the subscription is in place
  },
  onPublished() {
    if (name === "pub1" || name === "pub1s" || name === "pub1p") {
      if (--pending === 0) ready = true;
    }
  },
  onDisconnect(status, retryMs, reason) {
    trace(`alloc: offline ${status} ${reason}\n`);
  },
});

function onMessage(m) {
  if (phase < 0) {
    if (phase === -1) { phase = 0; startPass(); }
    return;
  }
  if ((name === "rx0" || name === "rx1") && m.payloadLength > 0) {
    if (--pending === 0) ready = true;
  }
}

function startPass() {
  name = PHASES[phase];
  const n = warm ? WARM : N;
  if (name === "rx0" || name === "rx1") trace(`alloc: send ${name} ${n}\n`); // before counting: the trace allocates
  if (!warm) {
    Debug.gc(true);
    Debug.gc(); // collect what the warm-up left; then count with the collector off
    Debug.gc(false);
    s0 = Instrumentation.get(SLOTS);
    c0 = Instrumentation.get(CHUNKS);
  }
  left = pending = n;
  ready = false;
}

function endPass() {
  if (warm) {
    warm = false;
  } else {
    const s = Instrumentation.get(SLOTS) - s0;
    const c = Instrumentation.get(CHUNKS) - c0;
    Debug.gc(true);
    trace(`alloc: ${name} n=${N} slots=${s} chunks=${c}\n`);
    warm = true;
    if (++phase === PHASES.length) {
      trace("alloc: done\n");
      phase = -2;
      return;
    }
  }
  wait = 10;
}

function step() {
  try { step_(); } catch (e) { trace(`alloc: error ${e}\n`); }
}
function step_() {
  if (phase < 0) return;
  if (wait > 0) {
    if (--wait === 0) startPass();
    return;
  }
  if (ready) {
    ready = false;
    endPass();
    return;
  }
  if (left === 0) return;
  if (name === "idle") {
    left--;
    if (--pending === 0) ready = true;
  } else if (name === "pub1" || name === "pub1s" || name === "pub1p") {
    while (left > 0 && session.queued < 8) {
      if (client.publish(name === "pub1s" ? stringTopics[i++ & 3] : bytesTopic, name === "pub1p" ? textPayload : payload, 1) < 0) break;
      left--;
    }
  } else if (name === "pub0" || name === "pub0s" || name === "pub0p" || name === "pub0q" || name === "control") {
    for (let k = 0; k < BATCH && left > 0; k++) {
      let r;
      if (name === "pub0") r = client.publish(bytesTopic, payload, 0);
      else if (name === "pub0s") r = client.publish(stringTopics[i++ & 3], payload, 0);
      else if (name === "pub0p") r = client.publish(bytesTopic, textPayload, 0);
      else if (name === "pub0q") r = client.publish(bytesTopic, longPayload, 0);
      else r = client.publish(base + "/out/c" + (i++ & 1023), payload, 0);
      if (r < 0) break; // WOULD_BLOCK: the next turn tries again
      left--;
      if (--pending === 0) ready = true;
    }
  }
}

const session = client.session;
Timer.repeat(step, 1);
trace(`alloc: start n=${N}\n`);
client.start();
