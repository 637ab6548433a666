// Shared by the size apps (tools/size.mjs): the heap in use after a collection, and the one line
// each app traces once its client is connected:
//   size: ram slots=<bytes> chunks=<bytes>
// what the client costs in RAM beyond what the app had before making it; and, where an app marks
// them, what each step on the way added:
//   size: step <name> slots=<bytes> chunks=<bytes>
import Debug from "debug";
import Instrumentation from "instrumentation";

const SLOTS = Instrumentation.map("XS Slot Heap Used");
const CHUNKS = Instrumentation.map("XS Chunk Heap Used");
let slots = 0, chunks = 0, stepSlots = 0, stepChunks = 0;

export function before() {
  Debug.gc();
  stepSlots = slots = Instrumentation.get(SLOTS);
  stepChunks = chunks = Instrumentation.get(CHUNKS);
}

export function step(name) {
  Debug.gc();
  const s = Instrumentation.get(SLOTS), c = Instrumentation.get(CHUNKS);
  trace(`size: step ${name} slots=${s - stepSlots} chunks=${c - stepChunks}\n`);
  stepSlots = s;
  stepChunks = c;
}

export function connected() {
  Debug.gc();
  trace(`size: ram slots=${Instrumentation.get(SLOTS) - slots} chunks=${Instrumentation.get(CHUNKS) - chunks}\n`);
}
