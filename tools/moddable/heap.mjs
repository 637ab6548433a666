// Where the device's flash goes, function by function: reads the preloaded heap that Moddable's
// linker (xsl) writes into mc.xs.c and charges every slot and every byte of bytecode that the
// library's modules add to a function, an object or a module's variables.
//
// In a preloaded module, what goes to flash is the heap xsl froze after running the module:
// - every function is slots (its instance, its code slot with the bytecode, its home, the property
//   or variable that holds it) plus its bytecode (a C string in the code slot);
// - every object, module variable and string is slots;
// - every new property or variable name is a key (one slot and its characters).
// A slot is 32 B on lin (64-bit), 16 B on an ESP32.
//
// How slots are charged: the library's slots are those reachable from its module records
// ("xs-mqtt", "xs-mqtt/moddable") and not from the runtime's roots (gxStack) with those records
// cut off. A function is charged its instance, the chain of slots after it, and the
// property or variable slots that refer to it; an object its instance and chain; the rest (numbers
// and strings in module variables) goes to its module's variables. Mangled names (the device build
// is minified) are mapped back to the source through a source map of the same esbuild build.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { XS_ESBUILD, postProcess } from '../xs-post.mjs';

const SLOT_RE = /^\/\* (\d+) \*\/\t\{ (?:NULL|\(txSlot\*\)&gxHeap\[(\d+)\]), \{\.ID = ([^,]+), \.flag = (\w+), \.kind = (XS_\w+)\}, \.value = (.*)$/;

/** Bytes of a C string literal's content (escapes counted as the byte they stand for). */
function cBytes(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++, n++) {
    if (s[i] !== '\\') continue;
    const c = s[++i];
    if (c === 'x') while (/[0-9a-fA-F]/.test(s[i + 1] ?? '')) i++;
    else if (/[0-7]/.test(c)) for (let k = 0; k < 2 && /[0-7]/.test(s[i + 1] ?? ''); k++) i++;
  }
  return n;
}

/** The slots of mc.xs.c's gxHeap and gxStack, with their references. */
export function parseHeap(text) {
  const slots = [];
  const stack = [];
  let inStack = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('static const txSlot gxStack[') && line.endsWith('= {')) inStack = true;
    if (inStack) {
      if (line.startsWith('};')) break;
      for (const m of line.matchAll(/gxHeap\[(\d+)\]/g)) stack.push(Number(m[1]));
      continue;
    }
    const m = SLOT_RE.exec(line);
    if (!m) continue;
    const [, index, next, id, , kind, value] = m;
    const slot = { index: Number(index), next: next === undefined ? -1 : Number(next), id, kind: kind.slice(3, -5), refs: [] };
    if (slot.kind === 'CODE_X') {
      const code = /\(txByte\*\)"((?:[^"\\]|\\.)*)"/.exec(value);
      slot.code = code ? cBytes(code[1]) : 0;
      const closures = /, \(txSlot\*\)&gxHeap\[(\d+)\] \} \}/.exec(value);
      if (closures) slot.refs.push(Number(closures[1]));
    } else {
      for (const r of value.matchAll(/gxHeap\[(\d+)\]/g)) slot.refs.push(Number(r[1]));
      if (slot.kind === 'HOME') slot.home = [...value.matchAll(/(NULL|\(txSlot\*\)&gxHeap\[(\d+)\])/g)].map((h) => (h[2] === undefined ? -1 : Number(h[2])));
      if (slot.kind === 'KEY_X') slot.key = /\.key = \{ "((?:[^"\\]|\\.)*)"/.exec(value)?.[1];
      if (slot.kind === 'MODULE') slot.module = Number(/\.module = \{ [^,]+, (\d+) \}/.exec(value)?.[1]);
    }
    slots[slot.index] = slot;
  }
  const keys = new Map(); // ID number → name
  for (const s of slots) if (s?.kind === 'KEY_X') keys.set(Number(s.id), s.key);
  const name = (id) => (id.startsWith('xsID_') ? id.slice(5) : /^\d+$/.test(id) ? keys.get(Number(id)) ?? null : null);
  // Module records: an instance whose first slot is the module's (its name is a key).
  const modules = new Map();
  for (const s of slots) if (s?.kind === 'INSTANCE' && s.next >= 0 && slots[s.next]?.kind === 'MODULE') modules.set(keys.get(slots[s.next].module), s.index);
  return { slots, stack, keys, name, modules };
}

function reach(heap, roots, blocked) {
  const seen = new Set();
  const todo = [...roots];
  while (todo.length) {
    const i = todo.pop();
    if (i < 0 || seen.has(i) || blocked.has(i) || !heap.slots[i]) continue;
    seen.add(i);
    const s = heap.slots[i];
    todo.push(s.next, ...s.refs);
  }
  return seen;
}

/** The device's two modules of the library: module name → [entry, the build's output]. */
const DEVICE_MODULES = { 'xs-mqtt': ['src/device.ts', 'dist/xs/index.js'], 'xs-mqtt/moddable': ['hosts/moddable/index.ts', 'dist/xs/moddable.js'] };

/**
 * The device build of `entry` again (tools/build.mjs's esbuild options and post-processing), checked
 * against `outfile`: { r (esbuild's result), js (esbuild's code), renamed (the gathered functions'
 * new names → reuseKeys's), keyMap (esbuild's names → reuseKeys's) }.
 */
async function rebuild(root, entry, outfile, sourcemap = false) {
  const r = await build({ ...XS_ESBUILD, absWorkingDir: root, entryPoints: [entry], sourcemap, write: false, outfile: join(root, outfile) });
  const js = r.outputFiles.find((f) => f.path.endsWith('.js')).text;
  // tools/build.mjs then inlines the numeric constants, which changes no other name
  const renamed = new Map();
  const keyMap = new Map();
  if (postProcess(js, outfile, renamed, keyMap) !== readFileSync(join(root, outfile), 'utf8')) throw new Error(outfile + ' differs from a fresh build of ' + entry + ': npm run build first');
  return { r, js, renamed, keyMap };
}

/**
 * Source names of the device build's mangled identifiers: esbuild's source map of the same build
 * (same options as tools/build.mjs) names the original identifier at each declaration.
 */
async function sourceNames(root, entry, outfile) {
  const { r, js, renamed, keyMap } = await rebuild(root, entry, outfile, 'external');
  const map = JSON.parse(r.outputFiles.find((f) => f.path.endsWith('.map')).text);
  // Decode the mappings (VLQ): generated line/column → source, line, name.
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const at = new Map();
  let src = 0, sl = 0, sc = 0, nm = 0;
  map.mappings.split(';').forEach((line, gl) => {
    let gc = 0;
    for (const seg of line.split(',')) {
      if (!seg) continue;
      const v = [];
      let shift = 0, acc = 0;
      for (const ch of seg) {
        const d = B64.indexOf(ch);
        acc += (d & 31) << shift;
        if (d & 32) shift += 5;
        else { v.push(acc & 1 ? -(acc >>> 1) : acc >>> 1); acc = 0; shift = 0; }
      }
      gc += v[0];
      if (v.length > 1) { src += v[1]; sl += v[2]; sc += v[3]; }
      if (v.length > 4) nm += v[4];
      at.set(gl + ':' + gc, { source: map.sources[src], line: sl + 1, name: v.length > 4 ? map.names[nm] : null });
    }
  });
  // Each declaration in the generated code, by kind: a function (function X, class X, X=class,
  // X=function, var X=) or a method (X(){, get X(){, static X(){).
  const names = new Map();
  const lines = js.split('\n');
  const note = (kind, id, gl, col) => {
    const hit = at.get(gl + ':' + col);
    if (!hit) return;
    const entry = { name: hit.name ?? id, file: relative(root, join(root, hit.source.replace(/^(\.\.\/)+/, ''))), line: hit.line };
    entry.where = entry.file + ':' + entry.line;
    if (!names.has(kind + ':' + id)) names.set(kind + ':' + id, []);
    names.get(kind + ':' + id).push(entry);
  };
  lines.forEach((text, gl) => {
    for (const m of text.matchAll(/(function\s+|class\s+|(?:var|let|const)\s+|,)([A-Za-z_$][\w$]*)(?=\s*[=(\s{])/g))
      note('function', m[2], gl, m.index + m[0].length - m[2].length);
    for (const m of text.matchAll(/([{};]\s*(?:static\s+|get\s+|set\s+)?)([A-Za-z_$][\w$]*)(?=\()/g))
      note('method', m[2], gl, m.index + m[0].length - m[2].length);
    // an object literal's later methods (`,x(){`): kept apart, as a call in an argument list looks the same
    for (const m of text.matchAll(/(,)([A-Za-z_$][\w$]*)(?=\()/g)) note('member', m[2], gl, m.index + 1);
  });
  // On the device each goes by reuseKeys's name, and a gathered function by its name in the
  // gathered object (declarations first: the pairs swap).
  for (const [key, entry] of [...names]) {
    const [kind, id] = key.split(':');
    if (keyMap.has(id)) {
      names.delete(key);
      names.set(kind + ':' + keyMap.get(id), entry);
    }
  }
  const before = new Map([...renamed].map(([to, from]) => [to, names.get('function:' + from)]));
  for (const [to, entry] of before) if (entry) names.set('gathered:' + to, entry);
  return names;
}

/**
 * The per-function breakdown of what `modules` (module names) add to the app whose mc.xs.c is
 * `file` (what only they reach: the runtime's roots are walked with their records cut off; an app
 * module that imports them is not preloaded, so not in the heap). Returns rows { module, name, where, kind, slots, code } and totals.
 */
export async function breakdown({ file, modules, root, sources = {} }) {
  const heap = parseHeap(readFileSync(file, 'utf8'));
  const { slots } = heap;
  const ours = new Map(); // module record index → module name
  for (const m of modules) if (heap.modules.has(m)) ours.set(heap.modules.get(m), m);
  const foreign = reach(heap, heap.stack, new Set(ours.keys()));
  const mine = new Set([...reach(heap, [...ours.keys()], new Set())].filter((i) => !foreign.has(i)));

  const mangled = {};
  for (const [m, [entry, outfile]] of Object.entries(sources)) mangled[m] = await sourceNames(root, entry, outfile);

  // Units: each instance of ours is an object or (with a code slot) a function; its chain is its own.
  const unitOf = new Map(); // slot → unit
  const units = [];
  const isFunction = (s) => s.kind === 'INSTANCE' && s.next >= 0 && slots[s.next]?.kind?.startsWith('CODE');
  for (const i of mine) {
    const s = slots[i];
    if (s.kind !== 'INSTANCE') continue;
    const unit = { index: i, fn: isFunction(s), slots: 0, code: 0, module: null };
    units.push(unit);
    for (let j = i; j >= 0 && mine.has(j) && !unitOf.has(j); j = slots[j].next) {
      unitOf.set(j, unit);
      unit.slots++;
      if (slots[j].kind === 'CODE_X') {
        unit.code += slots[j].code;
        unit.codeId = slots[j].id;
      }
    }
  }
  const byIndex = new Map(units.map((u) => [u.index, u]));
  // A function's closures (the environment its code captures: one slot per captured variable) are
  // charged to it.
  for (const u of units) {
    if (!u.fn) continue;
    for (let j = u.index; j >= 0 && unitOf.get(j) === u; j = slots[j].next) {
      if (slots[j].kind !== 'CODE_X') continue;
      const env = byIndex.get(slots[j].refs[0]);
      if (env && !env.fn && !env.merged) {
        env.merged = true;
        u.closures = env.slots;
      }
    }
  }
  // Names. A function is named by its code slot (the declaration's name), mapped back through the
  // source map, and qualified by its home object: Class.prototype for a method, Class for a static.
  const chainOf = (u) => {
    const out = [];
    for (let j = u.index; j >= 0 && unitOf.get(j) === u; j = slots[j].next) out.push(slots[j]);
    return out;
  };
  const homeOf = (u) => {
    for (let j = u.index, n = 0; j >= 0 && n < 4; j = slots[j].next, n++) if (slots[j].kind === 'HOME') return slots[j];
    return null;
  };
  const first = [...ours.values()][0];
  const referrers = new Map(); // unit index → units whose chain refers to it
  for (const u of units) for (const x of chainOf(u)) for (const r of x.refs) if (byIndex.has(r)) (referrers.get(r) ?? referrers.set(r, []).get(r)).push(u);
  const ctorOf = (u) => chainOf(u).find((s) => heap.name(s.id) === 'constructor' && byIndex.get(s.refs[0])?.fn);
  // The gathered object: what a class prototype's `$…` property holds (thisRoutes), or an object of
  // functions only (gatherFunctions, in a module without classes that read it).
  const gatheredUnits = new Set();
  for (const u of units) for (const x of chainOf(u)) if (/^\$[0-9a-z]*$/.test(heap.name(x.id) ?? '') && byIndex.has(x.refs[0])) gatheredUnits.add(byIndex.get(x.refs[0]));
  const isGathered = (u) => {
    if (gatheredUnits.has(u)) return true;
    // else an object of functions only, whose names are the gathered ones (not any object literal's methods)
    const map = mangled[u.module ?? first];
    const props = chainOf(u).slice(1);
    return props.length > 1 && props.every((x) => byIndex.get(x.refs[0])?.fn && map?.has('gathered:' + heap.name(x.id)));
  };
  const label = (u, depth = 0) => {
    if (u.label || depth > 4) return u.label ?? '?';
    const home = homeOf(u);
    if (home && ours.has(home.home[1])) u.module = ours.get(home.home[1]);
    const map = mangled[u.module ?? first];
    if (u.fn) {
      const own = u.codeId ? heap.name(u.codeId) : null;
      // a class (it has a prototype) is named alone; a method by the object it is defined on
      const isClass = chainOf(u).some((x) => heap.name(x.id) === 'prototype');
      let owner = !isClass && home && byIndex.get(home.home[0]);
      // the object tools/xs-post.mjs gathers the module functions into: named by their names before
      const gathered = owner && !owner.fn && !ctorOf(owner);
      if (gathered) owner = null;
      // a method's name can be declared by several classes: the one in its class's file, after it
      // (an object literal's method that was not gathered: a method of the object)
      let src = own && (gathered ? map?.get('gathered:' + own) ?? map?.get('method:' + own) ?? map?.get('member:' + own) : map?.get((owner ? 'method:' : 'function:') + own))?.[0];
      if (owner && src) {
        const cls = label(owner, depth + 1).replace(/\.prototype$/, '');
        const decl = [...map].filter(([k]) => k.startsWith('function:')).flatMap(([, v]) => v).find((e) => e.name === cls);
        const cands = map.get('method:' + own).filter((e) => !decl || (e.file === decl.file && e.line >= decl.line));
        if (cands.length) src = cands.reduce((a, b) => (b.line < a.line ? b : a));
      }
      u.where = src?.where ?? '';
      let base = src?.name ?? own;
      if (!base) {
        // XS compiles a class's field initialisers into an anonymous function the class holds
        const holder = referrers.get(u.index)?.find((v) => v !== u && v.fn);
        base = holder ? `(${label(holder, depth + 1)}'s instance fields)` : '(anonymous)';
        if (holder) {
          u.where = holder.where;
          u.label = base;
          return base;
        }
      }
      u.label = owner && owner !== u ? label(owner, depth + 1) + '.' + base : base;
    } else {
      const c = ctorOf(u);
      if (c) {
        const ctor = byIndex.get(c.refs[0]);
        u.label = label(ctor, depth + 1) + '.prototype';
        u.protoOf = ctor;
      }
      else if (ours.has(u.index)) u.label = '(module record)';
      else if (isGathered(u)) {
        // tools/xs-post.mjs: the module's functions (gatherFunctions), and the bindings their callers read through it (thisRoutes)
        const isClass = (t) => chainOf(t).some((x) => heap.name(x.id) === 'prototype');
        const fns = chainOf(u).slice(1).filter((x) => byIndex.get(x.refs[0])?.fn && !isClass(byIndex.get(x.refs[0]))).length;
        u.label = `(the module's functions, gathered: ${fns} functions, ${chainOf(u).length - 1 - fns} other properties)`;
        u.gathered = true;
      }
      else {
        const kinds = chainOf(u).slice(1).map((s) => s.kind);
        u.label = kinds.includes('TYPED_ARRAY') ? '(a typed array)' : kinds.includes('ARRAY') ? '(an array)' : kinds.includes('REGEXP') ? '(a regexp)' : '(an object)';
      }
      u.where = '';
    }
    u.module ??= first;
    return u.label;
  };
  for (const u of units) label(u);
  for (const u of units) if (u.protoOf) u.where = u.protoOf.where.replace(/:\d+$/, '');
  // An object held by a property gets that property's name.
  for (const u of units) for (const s of chainOf(u)) {
    const p = heap.name(s.id);
    for (const r of s.refs) {
      const t = byIndex.get(r);
      if (t && !t.fn && !t.gathered && t.label.startsWith('(a') && p && u.label !== '(module record)') t.label = u.label + '.' + p;
    }
  }
  // Slots outside any instance chain (variable cells, property slots): charged to the function or
  // object they refer to, else to the unit whose chain refers to them, else to the module's variables.
  const loose = new Map();
  for (const i of mine) {
    if (unitOf.has(i)) continue;
    const s = slots[i];
    const target = s.refs.map((r) => byIndex.get(r)).find((u) => u);
    if (target) {
      target.slots++;
      continue;
    }
    const key = s.kind === 'KEY_X' ? 'keys' : 'variables';
    loose.set(key, (loose.get(key) ?? 0) + 1);
  }
  const rows = units.filter((u) => !u.merged).map((u) => ({ module: u.module, name: u.label, where: u.where, kind: u.fn ? 'function' : 'object', slots: u.slots + (u.closures ?? 0), closures: u.closures ?? 0, code: u.code }));
  for (const [k, n] of loose) rows.push({ module: '', name: `(module ${k})`, where: '', kind: k, slots: n, code: 0 });
  rows.sort((a, b) => b.slots * 32 + b.code - (a.slots * 32 + a.code));
  return { rows, slots: mine.size, code: rows.reduce((n, r) => n + r.code, 0) };
}

/**
 * The device build's property names, module by module: a Map of each name on the device to its name
 * in the source (tools/xs-post.mjs's reuseKeys gives private members names that every app has as keys
 * already, so `_link` is `getUTCFullYear` on the device). For size/inventory's object paths.
 */
export async function deviceNames(root) {
  const out = {};
  for (const [m, [entry, outfile]] of Object.entries(DEVICE_MODULES)) {
    const { keyMap } = await rebuild(root, entry, outfile);
    out[m] = new Map([...keyMap].map(([from, to]) => [to, from]));
  }
  return out;
}

/** The breakdown of xs-mqtt's two device modules in an app built by tools/moddable/size.mjs. */
export function libraryBreakdown(file, root) {
  return breakdown({
    file,
    root,
    modules: Object.keys(DEVICE_MODULES),
    sources: DEVICE_MODULES,
  });
}

/**
 * What the plain client's flash buys, feature by feature: each function of the breakdown belongs to
 * exactly one feature, matched on `<source file> <name>` (the first pattern that matches). A function
 * no pattern matches is reported as unassigned (test/moddable-size.test.ts fails on one, so that the
 * table stays whole as the code changes); objects, prototypes and module variables are the structure
 * that holds the functions. Features listed here are what the client offers; the first five are the
 * guarantees issue #10 names (validation, outbox and resend, QoS 2 exactly once, streaming, reconnect).
 */
export const FEATURES = [
  ['decoding: the resumable decoder, every malformed-input check, streamed messages', /^src\/codec\/decoder\.ts Decoder(\.prototype\.(push|_parse|_publish|reset))?$/],
  ['encoding: every packet the client sends, misuse refused (TypeError, RangeError)', /^src\/codec\/(encode|varint)\.ts |^src\/codec\/utf8\.ts (bound|fail)$/],
  ['UTF-8: strings encoded and checked in one pass, topics checked, decoded on request', /^src\/codec\/utf8\.ts (utf8|checkUtf8|decodeUtf8)$/],
  ['session: CONNECT/CONNACK, keepalive, acknowledgements both ways, QoS 2 exactly once', /^src\/session\/session\.ts Session(\.prototype\.(_handle|receive|start|tick|nextDeadline|_sendTx|_fail|disconnect|linkLost))?$/],
  ['outbox: QoS 1/2 kept across reconnects, resent in order, bounded', /^src\/session\/outbox\.ts |^src\/session\/session\.ts Session\.prototype\.(publish|pump|queued)$/],
  ['(un)subscribe exchanges: SUBACK checked against the request', /^src\/session\/suback\.ts |^src\/session\/session\.ts Session\.prototype\.(subscribe|unsubscribe)$/],
  ['client: connection lifecycle, reconnect with backoff and jitter, one timer', /^src\/client\.ts (Client(\.prototype\.(start|stop|_open|_closeLink|_drop|_setTimer|_onTimer|_armSession|online))?|Bridge(\.prototype\.(send|onOpen|onClose|onConnected))?)$/],
  ['client: subscriptions with handlers, wildcard dispatch, handler and event errors contained', /^src\/client\.ts (Client\.prototype\.(subscribe|unsubscribe|_flushSubs|_acked|_call)|Bridge\.prototype\.(onMessage|onSubscribed|onUnsubscribed))$|^src\/topic\.ts matchTopic$/],
  ['client: publish, the string-topic cache', /^src\/client\.ts (Client\.prototype\.publish|Bridge\.prototype\.onPublished)$|^src\/topic\.ts topicBytes$/],
  ['client: receive queue, messages handled outside socket callbacks, flow control', /^src\/client\.ts (Client\.prototype\._drain|Bridge\.prototype\.(onData|onWritable))$/],
  ['client: end(), a graceful stop', /^src\/client\.ts Client\.prototype\.(end|_settle)$/],
  ["Message: topic, payload and text on request", /^src\/codec\/decoder\.ts Decoder\.prototype\.(topic|payload|text)$/],
  ['statusName', /^src\/session\/status\.ts /],
  ['Moddable host: the socket, reads and writes without allocation, flow control', /^hosts\/moddable\/index\.ts (ModdableLink(\.prototype\.(_send|write|_pull|resume|_fail|close|_connect))?|onReadable|onWritable|onError|reason)$/],
  ['Moddable host: DNS', /^hosts\/moddable\/ipv4\.ts |^hosts\/moddable\/index\.ts ModdableLink\.prototype\._closeResolver$/],
  ['Moddable host: time, timers, deferred tasks, jitter seeded per board', /^hosts\/moddable\/index\.ts ModdableHost(\.prototype\.\w+)?$/],
];

/** The breakdown's bytes by feature (FEATURES): [[feature, bytes]], and the functions no feature matched. */
export function byFeature(rows, slotBytes = 32) {
  const totals = new Map(FEATURES.map(([f]) => [f, 0]));
  const structure = 'structure: prototypes, the gathered functions\' objects, module records and variables';
  totals.set(structure, 0);
  const unassigned = [];
  for (const r of rows) {
    const bytes = r.slots * slotBytes + r.code;
    if (r.kind !== 'function') {
      totals.set(structure, totals.get(structure) + bytes);
      continue;
    }
    const key = `${r.where.replace(/:\d+$/, '')} ${r.name}`;
    const f = FEATURES.find(([, re]) => re.test(key));
    if (f) totals.set(f[0], totals.get(f[0]) + bytes);
    else unassigned.push(key);
  }
  return { features: [...totals], unassigned };
}

/** Lines for a report: totals, by source file, and the `top` costliest rows (all with top = Infinity). */
export function formatBreakdown({ rows, slots, code }, { slotBytes = 32, top = 30 } = {}) {
  const bytes = (r) => r.slots * slotBytes + r.code;
  const out = [];
  const fns = rows.filter((r) => r.kind === 'function');
  const closures = fns.reduce((n, r) => n + r.closures, 0);
  const fnSlots = fns.reduce((n, r) => n + r.slots, 0);
  out.push(`the library's preloaded heap: ${slots} slots (${fns.length} functions: ${fnSlots} slots, ${closures} of them closures; objects and variables: ${slots - fnSlots}) and ${code} B of bytecode`);
  const byFile = new Map();
  for (const r of rows) {
    const f = r.where ? r.where.replace(/:\d+$/, '') : r.kind === 'function' ? '(unplaced functions)' : '(objects, prototypes, variables)';
    byFile.set(f, (byFile.get(f) ?? 0) + bytes(r));
  }
  out.push('', `by source file (slots × ${slotBytes} B + bytecode):`);
  for (const [f, n] of [...byFile].sort((a, b) => b[1] - a[1])) out.push(`  ${String(n).padStart(6)} B  ${f}`);
  const { features, unassigned } = byFeature(rows, slotBytes);
  out.push('', `by feature (what each kilobyte buys; the keys, the module records and the app's own code are not in these):`);
  for (const [f, n] of features) out.push(`  ${String(n).padStart(6)} B  ${f}`);
  if (unassigned.length) out.push(`  unassigned functions (add them to FEATURES in tools/moddable/heap.mjs): ${unassigned.join(', ')}`);
  out.push('', `function by function${Number.isFinite(top) ? `, the ${top} costliest (npm run size -- --all for every one)` : ''}:`);
  out.push('   bytes  slots (closures)  bytecode  name  (source)');
  for (const r of rows.slice(0, top)) {
    out.push(`  ${String(bytes(r)).padStart(6)}  ${String(r.slots).padStart(5)} (${String(r.closures ?? 0).padStart(2)})  ${String(r.code).padStart(8)}  ${r.module === 'xs-mqtt/moddable' ? 'moddable: ' : ''}${r.name}${r.where ? `  (${r.where})` : ''}`);
  }
  return out;
}
