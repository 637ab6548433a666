// What each object a connected client holds costs in RAM, object by object (size/inventory): a
// walk from the host and the client over own properties, each object priced by XS's layout on lin,
// 64-bit (xsAll.h, xsMemory.c): a slot is 32 B; a chunk its bytes rounded to 8, plus a 16 B header.
// An object is a slot, and one per property; an array two, and a chunk of a slot per item; a typed
// array four (xsDataView.c); an ArrayBuffer three, and a chunk of its bytes; a function made at run
// time three, and its length and name (xsFunction.c). Preloaded objects are frozen, in flash: not
// counted. What a walk cannot see (a closure's environment and the copy of its code, what a host
// object holds) is the rest of the total that size/common.js's connected() measured just before.
// A module of its own, not in size/common.js: its names would be keys in every app, the baseline's
// too, and a key the library also has would then no longer count as the library's.
//   size: inv <path> <kind> slots=<bytes> chunks=<bytes>
//   size: inv end
const SLOT = 32;
const chunk = (n) => ((n + 7) & ~7) + 16;
export function inventory(host, client) {
  const seen = new Set();
  const visit = (o, path) => {
    if (o === null || (typeof o !== "object" && typeof o !== "function") || seen.has(o) || Object.isFrozen(o)) return;
    seen.add(o);
    let kind, n, bytes = 0;
    if (ArrayBuffer.isView(o)) {
      kind = `Uint${o.BYTES_PER_ELEMENT * 8}Array(${o.length})`;
      n = 4;
      const b = o.buffer;
      if (!seen.has(b) && !Object.isFrozen(b)) {
        seen.add(b);
        n += 3;
        bytes = chunk(b.byteLength);
        kind += `+ArrayBuffer(${b.byteLength})`;
      }
      trace(`size: inv ${path} ${kind} slots=${n * SLOT} chunks=${bytes}\n`);
      return;
    }
    const keys = Reflect.ownKeys(o);
    if (Array.isArray(o)) {
      kind = `Array(${o.length})`;
      n = 2;
      if (o.length) bytes = chunk(o.length * SLOT);
    } else if (o instanceof Map) {
      kind = `Map(${o.size})`;
      n = 3 + 2 * o.size;
      bytes = chunk(8);
    } else if (typeof o === "function") {
      kind = "function";
      n = 3 + keys.length;
    } else {
      kind = `object{${keys.length}}`;
      n = 1 + keys.length;
    }
    trace(`size: inv ${path} ${kind} slots=${n * SLOT} chunks=${bytes}\n`);
    if (Array.isArray(o)) for (let i = 0; i < o.length; i++) visit(o[i], `${path}[${i}]`);
    else if (o instanceof Map) o.forEach((v, k) => { visit(k, path + "{key}"); visit(v, path + "{value}"); });
    else for (const k of keys) if (typeof k === "string" && k !== "prototype") visit(o[k], `${path}.${k}`);
  };
  visit(host, "host");
  visit(client, "client");
  trace("size: inv end\n");
}
