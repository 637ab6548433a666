// The device bundle's post-processing (tools/build.mjs runs postProcess on dist/xs/*.js): what
// esbuild writes, made cheaper for XS's preloaded heap, where every slot is flash.
//
// inlineConstants:
// esbuild inlines a module-level `const` only while no statement with a possible side effect comes
// before it in its file, and not across files of this bundle, so most of the protocol's numbers
// (packet types, states, statuses) reach XS as module variables. On the device a function that reads
// a module variable captures it: one closure slot per variable per function, in flash (xsl's heap,
// 32 B each on lin, 16 B on an ESP32), and the variable's own slot. This pass replaces every read
// of a module-level variable that holds a number literal and is never assigned again with the
// number, and drops the variable unless it is exported. Strings stay variables on purpose: in a
// preloaded module XS copies a string literal into a new chunk each time it is evaluated.
//
// arrowFunctions, gatherFunctions, thisRoutes, constBindings: see each. Measured on the plain-TCP
// app (npm run size): 71,552 B of archive growth before, 65,532 B with the constants inlined,
// 60,508 B with the arrows, 59,943 B gathered; constBindings changes no byte of flash but halves
// the aliases (RAM); thisRoutes, later: 55,779 -> 49,903 B (closure slots 196 -> 6).
//
// Scoping is the TypeScript checker's (minified code reuses short names in inner scopes).
import { transformSync } from 'esbuild';
import ts from 'typescript';

/**
 * esbuild's options for the device modules (tools/build.mjs, hosts/moddable/build.mjs, and the
 * breakdown's rebuild in tools/moddable/heap.mjs), with entryPoints and outfile to add. Class fields
 * are written as assignments in the constructor: XS compiles a class's field initialisers into a
 * function of their own (its slots and its prototype object in flash, about 7 slots a class), and
 * without setters on these classes `this.x = v` does what the field definition does.
 */
export const XS_ESBUILD = {
  bundle: true,
  format: 'esm',
  minify: true, // private members (_x) keep their names here: postProcess's reuseKeys names them
  platform: 'neutral',
  target: 'es2022',
  supported: { 'class-field': false },
  define: { XS_MQTT_DEVICE: 'true' }, // src/codec/utf8.ts's XS: the device build is for XS
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: false, verbatimModuleSyntax: true } },
  external: ['embedded:*', 'timer', 'time'],
  legalComments: 'none',
  logLevel: 'warning',
};

/** The syntax tree of a bundle and a checker for its names (what each identifier refers to). */
function parse(code, file = 'bundle.js') {
  const host = ts.createCompilerHost({ allowJs: true });
  const source = ts.createSourceFile(file, code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  host.getSourceFile = (name) => (name === file ? source : undefined);
  host.fileExists = (name) => name === file;
  host.readFile = (name) => (name === file ? code : undefined);
  const program = ts.createProgram([file], { allowJs: true, noLib: true, noResolve: true, target: ts.ScriptTarget.ES2022 }, host);
  const checker = program.getTypeChecker();
  /** The symbol an identifier refers to (a shorthand property's is its value's, `export{x}`'s the local x). */
  const symbolOf = (node) => {
    const p = node.parent;
    if (ts.isShorthandPropertyAssignment(p) && p.name === node) return checker.getShorthandAssignmentValueSymbol(p);
    if (ts.isExportSpecifier(p) && (p.propertyName ?? p.name) === node) return checker.getExportSpecifierLocalTargetSymbol(p);
    return checker.getSymbolAtLocation(node);
  };
  return { source, checker, symbolOf };
}

/** Whether a token is an assignment operator: `=`, `+=`, `&&=`, `??=`… */
const isAssignment = (kind) => kind >= ts.SyntaxKind.FirstAssignment && kind <= ts.SyntaxKind.LastAssignment;

/**
 * Whether the expression `n` is written: an assignment's target (`=`, `+=`…), `++`/`--`, a for-in/of
 * target, or anywhere inside a destructuring target (`[n] = …`, `({a: n} = …)`, `({...n} = …)`).
 */
function isWritten(n) {
  const p = n.parent;
  if (!p) return false;
  if (ts.isParenthesizedExpression(p) || ts.isArrayLiteralExpression(p) || ts.isSpreadElement(p) || ts.isSpreadAssignment(p) || ts.isObjectLiteralExpression(p)) return isWritten(p);
  if (ts.isPropertyAssignment(p)) return p.initializer === n && isWritten(p.parent);
  if (ts.isShorthandPropertyAssignment(p)) return p.name === n && isWritten(p.parent);
  if (ts.isBinaryExpression(p)) return p.left === n && isAssignment(p.operatorToken.kind);
  if (ts.isPrefixUnaryExpression(p) || ts.isPostfixUnaryExpression(p)) return p.operator === ts.SyntaxKind.PlusPlusToken || p.operator === ts.SyntaxKind.MinusMinusToken;
  if (ts.isForInStatement(p) || ts.isForOfStatement(p)) return p.initializer === n;
  return false;
}

/** Whether a statement carries `export` (or another modifier): left as it is by these passes. */
const modified = (st) => !!st.modifiers?.length;

/** Whether an identifier is a property's name (`o.x`, `{x: …}`, a method, field or accessor x), not a reference. */
function isPropertyName(node) {
  const p = node.parent;
  return (ts.isPropertyAccessExpression(p) || ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p) || ts.isGetAccessor(p) || ts.isSetAccessor(p)) && p.name === node;
}

/** `code` with its numeric (and boolean) module constants inlined. */
export function inlineConstants(code) {
  const { source, checker, symbolOf } = parse(code);

  // Candidates: module-level `var|let|const x = <number>` (or -<number>).
  const candidates = new Map(); // symbol → { decl, text, name }
  for (const st of source.statements) {
    if (!ts.isVariableStatement(st) || modified(st)) continue;
    for (const d of st.declarationList.declarations) {
      if (!ts.isIdentifier(d.name) || !d.initializer) continue;
      const sym = checker.getSymbolAtLocation(d.name);
      if (!sym || sym.declarations?.length !== 1) continue; // declared twice: left alone
      const init = d.initializer;
      const num = ts.isNumericLiteral(init) || (ts.isPrefixUnaryExpression(init) && init.operator === ts.SyntaxKind.MinusToken && ts.isNumericLiteral(init.operand));
      // a boolean as esbuild writes it (!0, !1) or plainly
      const bool = init.kind === ts.SyntaxKind.TrueKeyword || init.kind === ts.SyntaxKind.FalseKeyword ||
        (ts.isPrefixUnaryExpression(init) && init.operator === ts.SyntaxKind.ExclamationToken && ts.isNumericLiteral(init.operand) && /^[01]$/.test(init.operand.text));
      if (!num && !bool) continue;
      const value = num ? Number(ts.isNumericLiteral(init) ? init.text : '-' + init.operand.text) : 0;
      if (num && (!Number.isFinite(value) || Object.is(value, -0))) continue; // Infinity is a name; -0 prints as 0
      const text = bool ? (init.kind === ts.SyntaxKind.TrueKeyword || (init.operand && init.operand.text === '0') ? '!0' : '!1') : String(value);
      candidates.set(sym, { decl: d, text, name: d.name.text, uses: [], exported: false });
    }
  }
  // Every reference; a write disqualifies.
  const visit = (node) => {
    if (ts.isIdentifier(node) && !isPropertyName(node)) {
      const p = node.parent;
      const c = candidates.get(symbolOf(node));
      if (c && node !== c.decl.name) {
        if (ts.isExportSpecifier(p)) c.exported = true;
        else if (isWritten(node)) c.written = true;
        else c.uses.push(node);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);

  // Edits, applied back to front: each read becomes the number, each unexported declaration goes.
  const edits = [];
  for (const c of candidates.values()) {
    if (c.written) continue;
    for (const id of c.uses) {
      const p = id.parent;
      let text = c.text.startsWith('-') || c.text.startsWith('!') ? `(${c.text})` : c.text;
      // `{x}` becomes `{x:1}`; `a.b` after a number needs a space (`1 .b`) — parenthesise.
      if (ts.isPropertyAccessExpression(p) && p.expression === id) text = `(${c.text})`;
      if (ts.isShorthandPropertyAssignment(p)) {
        edits.push({ start: id.getStart(), end: id.getEnd(), text: `${c.name}:${c.text}` });
        continue;
      }
      // keep a space from a neighbouring keyword or identifier character (`return X`, `case X:`)
      const before = code[id.getStart() - 1] ?? '';
      const after = code[id.getEnd()] ?? '';
      if (/[\w$]/.test(before)) text = ' ' + text;
      if (/[\w$]/.test(after)) text += ' ';
      edits.push({ start: id.getStart(), end: id.getEnd(), text });
    }
    if (!c.exported) {
      const list = c.decl.parent;
      if (list.declarations.length === 1) {
        const st = list.parent;
        edits.push({ start: st.getStart(), end: st.getEnd(), text: '' });
      } else {
        // drop "x=1," or ",x=1" from a list (the statement may keep others, or lose them all: handled below)
        c.dropFromList = true;
      }
    }
  }
  // Lists with dropped declarators: rewrite the whole statement with the survivors.
  for (const st of source.statements) {
    if (!ts.isVariableStatement(st)) continue;
    const decls = st.declarationList.declarations;
    if (decls.length < 2) continue;
    const dropped = decls.filter((d) => [...candidates.values()].some((c) => c.decl === d && c.dropFromList));
    if (!dropped.length) continue;
    const keep = decls.filter((d) => !dropped.includes(d));
    // a kept initializer may itself contain inlined reads: take its text after the edits inside it
    const inner = (d) => applyEdits(code, edits.filter((e) => e.start >= d.getStart() && e.end <= d.getEnd()), d.getStart(), d.getEnd());
    const kw = code.slice(st.getStart(), st.declarationList.declarations[0].getStart()).trim();
    const text = keep.length ? `${kw} ${keep.map(inner).join(',')}` : '';
    for (let i = edits.length - 1; i >= 0; i--) if (edits[i].start >= st.getStart() && edits[i].end <= st.getEnd()) edits.splice(i, 1);
    edits.push({ start: st.getStart(), end: st.getEnd() - (code[st.getEnd() - 1] === ';' ? 1 : 0), text });
  }
  return applyEdits(code, edits, 0, code.length);
}

function applyEdits(code, edits, from, to) {
  let out = '';
  let at = from;
  for (const e of [...edits].sort((a, b) => a.start - b.start)) {
    if (e.start < at) throw new Error('overlapping edits at ' + e.start);
    out += code.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + code.slice(at, to);
}

/** The symbols a bundle uses other than as a direct callee (`f(…)`) or an export: passed around as values. */
function valueUses(source, symbolOf) {
  const asValue = new Set();
  const walk = (n) => {
    if (ts.isIdentifier(n) && !ts.isFunctionDeclaration(n.parent) && !(ts.isVariableDeclaration(n.parent) && n.parent.name === n)) {
      const p = n.parent;
      const called = ts.isCallExpression(p) && p.expression === n;
      if (!called && !isPropertyName(n) && !ts.isExportSpecifier(p)) {
        const sym = symbolOf(n);
        if (sym) asValue.add(sym);
      }
    }
    ts.forEachChild(n, walk);
  };
  walk(source);
  return asValue;
}

/** Whether a function uses `this`, `arguments` or `new.target` of its own (an arrow's: its scope's). */
function usesThis(fn) {
  let found = false;
  const look = (n) => {
    if (found) return;
    if (n.kind === ts.SyntaxKind.ThisKeyword || (ts.isIdentifier(n) && n.text === 'arguments') || ts.isMetaProperty(n)) found = true;
    // a nested function or class has its own this/arguments; an arrow shares them
    else if (!(ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isClassLike(n) || ts.isMethodDeclaration(n) || ts.isAccessor(n))) ts.forEachChild(n, look);
  };
  ts.forEachChild(fn.body, look);
  for (const p of fn.parameters) look(p);
  return found;
}

/**
 * `code` with its module-level function declarations made arrow functions, declared first.
 * On XS a `function` declaration carries a prototype object (three preloaded slots: 96 B of flash
 * on lin); an arrow function has none. Declaring them first keeps a declaration's hoisting: each is
 * assigned before any other statement of the module runs, and its body reads variables only when
 * called, as before. Skipped: a function that uses `this`, `arguments` or `new.target`, a
 * generator, and one that is constructed (`new f`).
 */
export function arrowFunctions(code) {
  const { source, symbolOf } = parse(code);
  // A function passed around as a value may be constructed where this pass cannot see it (Moddable's
  // TLS socket calls `new options.socket(…)`): only functions that are only ever called directly,
  // or exported, are made arrows.
  const asValue = valueUses(source, symbolOf);
  const moved = [];
  const edits = [];
  for (const st of source.statements) {
    if (!ts.isFunctionDeclaration(st) || !st.name || !st.body || st.asteriskToken || st.modifiers?.length) continue;
    if (asValue.has(symbolOf(st.name)) || usesThis(st)) continue;
    const params = code.slice(st.parameters.pos, st.parameters.end);
    moved.push(`var ${st.name.text}=(${params})=>${code.slice(st.body.getStart(), st.body.getEnd())};`);
    edits.push({ start: st.getStart(), end: st.getEnd(), text: '' });
  }
  return moved.join('') + applyEdits(code, edits, 0, code.length);
}

/**
 * `code` (after arrowFunctions) with its module-level arrow functions gathered as the methods of
 * one object, declared first, and every reference `f` made `H.f`. On XS a function that calls
 * module functions captures each of them: a closure slot per function called, per caller, in flash.
 * Gathered, a caller captures the one object. Exported functions keep a variable for the export.
 */
export function gatherFunctions(code, renamed = new Map()) {
  const { source, checker, symbolOf } = parse(code);
  const used = new Set(code.match(/[A-Za-z_$][\w$]*/g));
  let H = '$';
  for (let i = 0; used.has(H); i++) H = '$' + i.toString(36);

  // The arrows that can become methods: called directly only (a method has another name and a
  // prototype-less `this`), using no `this` or `arguments` of the module, declared once, not async.
  const asValue = valueUses(source, symbolOf);
  const fns = new Map(); // symbol → { st, decl, name }
  for (const st of source.statements) {
    if (!ts.isVariableStatement(st) || modified(st) || st.declarationList.declarations.length !== 1) continue;
    const d = st.declarationList.declarations[0];
    if (!ts.isIdentifier(d.name) || !d.initializer || !ts.isArrowFunction(d.initializer) || !ts.isBlock(d.initializer.body)) continue;
    if (d.initializer.modifiers?.length) continue; // async
    const sym = checker.getSymbolAtLocation(d.name);
    if (!sym || sym.declarations?.length !== 1 || asValue.has(sym) || usesThis(d.initializer)) continue;
    fns.set(sym, { st, decl: d, name: d.name.text, exported: false });
  }
  if (!fns.size) return code;
  // Each method gets a one-character name the module already uses as an identifier (a parameter, a
  // local, a mangled property): on XS every distinct name is a key, a slot and its characters in
  // flash, and the module's own short names are keys already. The most used first.
  const seen = new Map();
  (function count(n) {
    if (ts.isIdentifier(n) && n.text.length === 1) seen.set(n.text, (seen.get(n.text) ?? 0) + 1);
    ts.forEachChild(n, count);
  })(source);
  const pool = [...seen].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const rename = new Map();
  const taken = new Set();
  for (const f of fns.values()) {
    // the pool first; past it, the function's own name, or one made unique
    let name = pool.find((k) => !taken.has(k)) ?? f.name;
    for (let i = 0; taken.has(name); i++) name = f.name + i.toString(36);
    taken.add(name);
    rename.set(f.name, name);
  }
  for (const [from, to] of rename) renamed.set(to, from); // for tools/moddable/heap.mjs's names
  const to = (name) => rename.get(name);
  const edits = [];
  const visit = (node) => {
    if (ts.isIdentifier(node) && !isPropertyName(node)) {
      const p = node.parent;
      const f = fns.get(symbolOf(node));
      if (f && node !== f.decl.name) {
        if (ts.isExportSpecifier(p)) f.exported = true;
        else if (ts.isShorthandPropertyAssignment(p)) edits.push({ start: node.getStart(), end: node.getEnd(), text: `${node.text}:${H}.${to(node.text)}` });
        else {
          const before = code[node.getStart() - 1] ?? '';
          edits.push({ start: node.getStart(), end: node.getEnd(), text: (/[\w$]/.test(before) ? ' ' : '') + `${H}.${to(node.text)}` });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  const methods = [];
  const exports = [];
  for (const f of fns.values()) {
    const a = f.decl.initializer;
    // the parameters (defaults may call others) and the body, with their own references rewritten
    const within = (from, to) => edits.filter((e) => e.start >= from && e.end <= to);
    const params = applyEdits(code, within(a.parameters.pos, a.parameters.end), a.parameters.pos, a.parameters.end);
    const body = applyEdits(code, within(a.body.getStart(), a.body.getEnd()), a.body.getStart(), a.body.getEnd());
    methods.push(`${to(f.name)}(${params})${body}`);
    if (f.exported) exports.push(`${f.name}=${H}.${to(f.name)}`);
    for (let i = edits.length - 1; i >= 0; i--) if (edits[i].start >= f.st.getStart() && edits[i].end <= f.st.getEnd()) edits.splice(i, 1);
    edits.push({ start: f.st.getStart(), end: f.st.getEnd(), text: '' });
  }
  const head = `var ${H}={${methods.join(',')}}${exports.length ? ',' + exports.join(',') : ''};`;
  return head + applyEdits(code, edits, 0, code.length);
}

/**
 * `code` (after gatherFunctions and constBindings) with its functions reaching the gathered object H,
 * and the module's constants and imports, through `this`, not through module variables: on XS a
 * function that reads a module variable carries an environment for it, 3 preloaded slots for the
 * first variable (96 B of flash on lin) and one for each more; a function that reads none carries
 * none.
 * - A gathered method is always called as `H.f(…)`, so its `this` is H: its own H is `this` (not in
 *   a nested function or class, which have their own this; arrows share it). Not an exported one:
 *   the export is called with any `this`.
 * - A module-level class's methods, accessors and constructor read `this.H`, and `X.prototype.H=H`
 *   follows the class (a prototype slot instead of an environment per method). Not a static member
 *   (its this is the class), nor a derived class's constructor (this before super() throws).
 *   H is a name no identifier or property of the module uses, so no instance shadows it.
 * - A module-level `const` or `var` (declared once with a value, never written again) or an import,
 *   read there, becomes a property of H (V, or where a method is V another short name of the
 *   module's), set right after its declaration (an import's after H's): `this.V` / `this.H.V`. Read
 *   before that, it is undefined, as the `var` was. Not one that is called there
 *   (`V()` would get H as its this).
 */
export function thisRoutes(code) {
  const m = /^(?:var|const) (\$\w*)=\{/.exec(code);
  if (!m) return code;
  const H = m[1];
  const { source, symbolOf } = parse(code);
  const head = source.statements[0];
  const decl = head.declarationList.declarations;
  const exported = new Set(decl.slice(1).map((d) => d.initializer.name.text)); // f=H.g: g is exported
  const methods = new Set(decl[0].initializer.properties.map((p) => p.name?.text));

  // The bindings that may be routed: module-level consts (one declaration each) and imports.
  const routable = new Map(); // symbol → { name, st, d: the declaration its H.V=V follows }
  for (const st of source.statements) {
    if (ts.isImportDeclaration(st) && st.importClause && !st.importClause.isTypeOnly) {
      const c = st.importClause;
      const names = [c.name, ...(c.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements.map((e) => e.name) : [])];
      for (const n of names) if (n) routable.set(symbolOf(n), { name: n.text, st: head, d: decl[decl.length - 1] });
    } else if (ts.isVariableStatement(st) && !modified(st) && !(st.declarationList.flags & ts.NodeFlags.Let) && st !== head) {
      for (const d of st.declarationList.declarations) {
        const sym = ts.isIdentifier(d.name) && d.initializer && symbolOf(d.name);
        if (sym && sym.declarations?.length === 1) routable.set(sym, { name: d.name.text, st, d });
      }
    }
  }
  // A `var` written anywhere is not routed (a const cannot be): H.V would keep the first value.
  (function writes(n) {
    if (ts.isIdentifier(n) && isWritten(n)) routable.delete(symbolOf(n));
    ts.forEachChild(n, writes);
  })(source);

  // The functions whose `this` is known: gathered methods (this is H) and class members (this.H).
  const scopes = []; // { fn, via }
  for (const p of decl[0].initializer.properties) if (ts.isMethodDeclaration(p) && !exported.has(p.name.text)) scopes.push({ fn: p, via: 'this' });
  // Each module-level class: `class X{…}`, or `X=class{…}` in a var statement.
  const classes = [];
  for (const st of source.statements) {
    if (modified(st)) continue;
    if (ts.isClassDeclaration(st) && st.name) classes.push({ cls: st, name: st.name.text, st, d: null });
    else if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) {
        if (ts.isIdentifier(d.name) && d.initializer && ts.isClassExpression(d.initializer)) classes.push({ cls: d.initializer, name: d.name.text, st, d });
      }
    }
  }
  for (const c of classes) {
    c.scopes = [];
    const derived = c.cls.heritageClauses?.some((h) => h.token === ts.SyntaxKind.ExtendsKeyword);
    for (const member of c.cls.members) {
      if (member.modifiers?.some((k) => k.kind === ts.SyntaxKind.StaticKeyword)) continue;
      if (ts.isConstructorDeclaration(member) ? !derived : ts.isMethodDeclaration(member) || ts.isAccessor(member)) c.scopes.push({ fn: member, via: 'this.' + H });
    }
    scopes.push(...c.scopes);
  }

  // The reads in those functions (not in a nested function or class: arrows share this).
  const reads = []; // { node, scope, sym }
  const look = (n, scope) => {
    if (ts.isIdentifier(n) && !isPropertyName(n) && !ts.isShorthandPropertyAssignment(n.parent)) {
      if (n.text === H) reads.push({ node: n, scope, sym: null });
      else {
        const sym = symbolOf(n);
        if (routable.has(sym)) reads.push({ node: n, scope, sym });
      }
    } else if (!(ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isClassLike(n) || ts.isMethodDeclaration(n) || ts.isAccessor(n) || ts.isConstructorDeclaration(n))) ts.forEachChild(n, (c) => look(c, scope));
  };
  for (const scope of scopes) {
    for (const p of scope.fn.parameters) look(p, scope);
    if (scope.fn.body) look(scope.fn.body, scope);
  }
  // Not routed: a binding called (or tagged, or written) there, or one whose name H already has.
  for (const r of reads) {
    if (!r.sym) continue;
    const p = r.node.parent;
    if ((ts.isCallExpression(p) && p.expression === r.node) || (ts.isTaggedTemplateExpression(p) && p.tag === r.node) || isWritten(r.node)) routable.delete(r.sym);
  }
  // Each routed binding's property: its own name (a key already), or where H's methods have that
  // name, another name the module already uses that no method or binding has.
  const names = new Set([...routable.values()].map((v) => v.name));
  const ids = new Set();
  (function all(n) {
    if (ts.isIdentifier(n)) ids.add(n.text);
    ts.forEachChild(n, all);
  })(source);
  const spare = [...ids].filter((n) => n.length <= 2 && !methods.has(n) && !names.has(n) && n !== H);
  for (const v of routable.values()) v.prop = methods.has(v.name) ? spare.shift() ?? v.name + H : v.name;
  // Statements to run right after a declaration (`H.V=V;`, `X.prototype.H=H;`): after its statement,
  // or, in a list (esbuild writes `var a=…,X=class{…},b=…`), where the list is split after it, so
  // that nothing later in the list runs before them.
  const after = new Map(); // declaration (or class statement) → { st, d, texts }
  const follow = (st, d, text) => {
    const key = d ?? st;
    if (!after.has(key)) after.set(key, { st, d, texts: [] });
    after.get(key).texts.push(text);
  };
  const edits = [];
  const used = new Set();
  for (const r of reads) {
    if (r.sym && !routable.has(r.sym)) continue;
    edits.push({ start: r.node.getStart(), end: r.node.getEnd(), text: r.sym ? `${r.scope.via}.${routable.get(r.sym).prop}` : r.scope.via });
    r.scope.used = true;
    if (r.sym && !used.has(r.sym)) {
      used.add(r.sym);
      const { name, prop, st, d } = routable.get(r.sym);
      follow(st, d, `${H}.${prop}=${name};`);
    }
  }
  for (const c of classes) if (c.scopes.some((s) => s.used)) follow(c.st, c.d, `${c.name}.prototype.${H}=${H};`);
  for (const { st, d, texts } of after.values()) {
    const list = d && st.declarationList.declarations;
    if (list && d !== list[list.length - 1]) {
      const kind = st.declarationList.flags & ts.NodeFlags.Const ? 'const' : st.declarationList.flags & ts.NodeFlags.Let ? 'let' : 'var';
      const comma = code.indexOf(',', d.getEnd());
      edits.push({ start: comma, end: comma + 1, text: `;${texts.join('')}${kind} ` });
    } else edits.push({ start: st.getEnd(), end: st.getEnd(), text: `${code[st.getEnd() - 1] === ';' ? '' : ';'}${texts.join('')}` });
  }
  return applyEdits(code, edits, 0, code.length);
}

/**
 * esbuild's bundler declares every module-level binding with `var` (`const a=1` → `var a=1`, and a
 * class becomes `var A=class{…}`). Moddable's linker, xsl, warns "no const" for each such variable a
 * function of a preloaded module reads, cannot optimise those reads, and keeps the module's
 * environment aliasable. This turns a module-level `var`/`let` back into `const` where that cannot
 * change what the program does, on TypeScript's parse and binder (a real scope analysis, not text):
 * - the declaration names one identifier and has an initialiser;
 * - the binding has that one declaration (no second `var x`, no `function x`);
 * - nothing writes it: no `x=`, `x+=`, `x++`, destructuring target, `for (x of/in …)`, anywhere
 *   (an assignment to a shadowing local of the same name is resolved to the local and does not count;
 *   one that cannot be resolved counts against every binding of that name);
 * - no temporal dead zone where `var` gave undefined: the module's top-level code (what runs at its
 *   evaluation, static class members included, function bodies and instance fields not) reads it only
 *   after its declaration, and if that code can call user code before the declaration has run (a call
 *   other than a global constructor or function on literals, a tagged template, a getter of the
 *   module's own objects, a relative import that might import this module back), no function reads it.
 * A list `var a=1,b=2` whose bindings differ is split (`const a=1;var b=2`); evaluation order is kept.
 * Any `eval` or `with` leaves the file alone. Returns the new text and the names made const.
 */
export function constBindings(code, fileName = 'module.js') {
  // One file, no lib: a name the binder cannot resolve is a global (Uint8Array, String, globalThis).
  const { source: sf, symbolOf } = parse(code, fileName.replace(/^.*\//, ''));
  const K = ts.SyntaxKind;

  const ids = [];
  let unsafe = false;
  (function walk(n) {
    if (ts.isIdentifier(n)) ids.push(n);
    if (n.kind === K.WithStatement) unsafe = true;
    ts.forEachChild(n, walk);
  })(sf);
  if (unsafe || ids.some((id) => id.text === 'eval')) return { code, names: [] };

  const written = isWritten; // an assignment's target, ++/--, for-in/of's, or inside a destructuring target
  /** Whether n is evaluated when its enclosing code is called rather than when the module runs. */
  const deferred = (n) => {
    for (let c = n, p = n.parent; p; c = p, p = p.parent) {
      if (ts.isFunctionLike(p) && !ts.isClassStaticBlockDeclaration(p) && c !== p.name) return true;
      if (ts.isPropertyDeclaration(p) && c === p.initializer && !p.modifiers?.some((m) => m.kind === K.StaticKeyword)) return true;
    }
    return false;
  };

  // The module-level candidates. A name declared twice outside functions (`var a=1;function a(){}`,
  // which the binder may give two symbols) is left alone.
  const declared = new Map();
  (function walk(n) {
    if ((ts.isVariableDeclaration(n) || ts.isFunctionDeclaration(n) || ts.isClassDeclaration(n) || ts.isImportClause(n) || ts.isImportSpecifier(n) || ts.isNamespaceImport(n)
      || ts.isBindingElement(n)) && n.name && ts.isIdentifier(n.name) && !deferred(n)) declared.set(n.name.text, (declared.get(n.name.text) ?? 0) + 1);
    ts.forEachChild(n, walk);
  })(sf);
  const candidates = new Map(); // symbol → { decl, name, end }
  for (const s of sf.statements) {
    if (!ts.isVariableStatement(s) || s.declarationList.flags & ts.NodeFlags.Const) continue;
    for (const d of s.declarationList.declarations) {
      if (!ts.isIdentifier(d.name) || !d.initializer) continue;
      const sym = symbolOf(d.name);
      if (sym && sym.declarations?.length === 1 && declared.get(d.name.text) === 1) candidates.set(sym, { decl: d, name: d.name.text, end: d.end });
    }
  }
  const writtenSymbols = new Set(ids.filter(written).map(symbolOf).filter(Boolean));
  // Where the module's top-level code may call user code (the earliest such position).
  const literal = (e) => ts.isNumericLiteral(e) || ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e) || e.kind === K.TrueKeyword || e.kind === K.FalseKeyword || e.kind === K.NullKeyword
    || (ts.isPrefixUnaryExpression(e) && literal(e.operand)) || (ts.isArrayLiteralExpression(e) && e.elements.every(literal));
  const global = (e) => ts.isIdentifier(e) && !symbolOf(e)?.declarations?.length;
  /** The initialiser of a module binding nothing writes (what it holds wherever it is read). */
  const initializerOf = (e) => {
    const sym = ts.isIdentifier(e) ? symbolOf(e) : undefined;
    const d = sym && !writtenSymbols.has(sym) ? sym.declarations : undefined;
    return d?.length === 1 && ts.isVariableDeclaration(d[0]) ? d[0].initializer : undefined;
  };
  /** A builtin reached from a global (`String.prototype`, `globalThis.trace`), directly or through a module binding: reading its properties runs no code of the module. */
  const builtin = (e, depth = 0) => depth < 20 && (global(e) || (ts.isPropertyAccessExpression(e) && builtin(e.expression, depth + 1))
    || (!!initializerOf(e) && builtin(initializerOf(e), depth + 1)));
  /** A primitive value: converting it (`a+b`, `${a}`, `a<b`) runs no code of the module. */
  const primitive = (e, depth = 0) => depth < 20 && (literal(e) || ts.isRegularExpressionLiteral(e) || e.kind === K.UndefinedKeyword
    || (ts.isIdentifier(e) && (e.text === 'undefined' || (!!initializerOf(e) && primitive(initializerOf(e), depth + 1))))
    || (ts.isParenthesizedExpression(e) && primitive(e.expression, depth + 1))
    || (ts.isPrefixUnaryExpression(e) && primitive(e.operand, depth + 1))
    || (ts.isBinaryExpression(e) && !isAssignment(e.operatorToken.kind) && primitive(e.left, depth + 1) && primitive(e.right, depth + 1))
    || (ts.isConditionalExpression(e) && primitive(e.whenTrue, depth + 1) && primitive(e.whenFalse, depth + 1)));
  const plain = (e) => primitive(e) || builtin(e);
  /** A value made of primitives, arrays and objects of data properties: a builtin given it can call nothing of the module. */
  const inert = (e, depth = 0) => depth < 20 && (primitive(e)
    || (ts.isArrayLiteralExpression(e) && e.elements.every((x) => inert(x, depth + 1)))
    || (ts.isObjectLiteralExpression(e) && e.properties.every((p) => ts.isPropertyAssignment(p) && !ts.isComputedPropertyName(p.name) && inert(p.initializer, depth + 1))));
  const logical = new Set([K.AmpersandAmpersandToken, K.BarBarToken, K.QuestionQuestionToken, K.CommaToken, K.EqualsEqualsEqualsToken, K.ExclamationEqualsEqualsToken]);
  let firstRun = Infinity;
  const run = (n) => { firstRun = Math.min(firstRun, n.getStart(sf)); };
  for (const s of sf.statements) {
    // A module it imports might import this one back and call it before it has run.
    if (ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier) && /^\.\.?\//.test(s.moduleSpecifier.text)) run(s);
  }
  (function walk(n) {
    if (n !== sf && deferred(n)) return;
    if (ts.isCallExpression(n) || ts.isNewExpression(n)) {
      // A builtin on values of literals (new Uint8Array([0,4]), Uint8Array.of(1), Object.freeze({a:!0})) calls nothing of the module.
      if (!(builtin(n.expression) && (n.arguments ?? []).every(inert))) run(n);
    } else if (ts.isTaggedTemplateExpression(n)) run(n);
    else if (ts.isIdentifier(n) && global(n) && written(n)) run(n); // a builtin replaced (Math=…)
    else if (ts.isPropertyAccessExpression(n) || ts.isElementAccessExpression(n)) {
      // A getter or setter of the module's own; a builtin replaced (Object.freeze=…).
      if (!builtin(n.expression) || written(n) || (ts.isElementAccessExpression(n) && !plain(n.argumentExpression))) run(n);
    } else if (ts.isSpreadElement(n) || ts.isSpreadAssignment(n) || ts.isForOfStatement(n) || ts.isForInStatement(n) || ts.isAwaitExpression(n) || ts.isYieldExpression(n)
      || ts.isObjectBindingPattern(n) || ts.isArrayBindingPattern(n) || ((ts.isObjectLiteralExpression(n) || ts.isArrayLiteralExpression(n)) && written(n))) {
      run(n); // iterators, getters, other modules
    } else if (ts.isBinaryExpression(n) && !isAssignment(n.operatorToken.kind) && !logical.has(n.operatorToken.kind)) {
      if (!plain(n.left) || !plain(n.right)) run(n); // valueOf, toString, Symbol.hasInstance…
    } else if (ts.isPrefixUnaryExpression(n) && n.operator !== K.ExclamationToken) {
      if (!plain(n.operand)) run(n);
    } else if (ts.isTemplateSpan(n) && !plain(n.expression)) run(n);
    // a compound assignment or x++ converts its operands (valueOf, toString); a computed key too
    else if (ts.isBinaryExpression(n) && isAssignment(n.operatorToken.kind) && n.operatorToken.kind !== K.EqualsToken && (!plain(n.left) || !plain(n.right))) run(n);
    else if (ts.isPostfixUnaryExpression(n) && !plain(n.operand)) run(n);
    else if (ts.isComputedPropertyName(n) && !plain(n.expression)) run(n);
    ts.forEachChild(n, walk);
  })(sf);

  // Rule the candidates out.
  const out = new Set();
  const writtenNames = new Set();
  for (const id of ids) {
    const sym = symbolOf(id);
    const c = sym && candidates.get(sym);
    if (written(id)) {
      if (c) out.add(sym);
      else if (!sym) writtenNames.add(id.text);
      continue;
    }
    if (!c || id === c.decl.name || ts.isExportSpecifier(id.parent)) continue;
    if (deferred(id) ? firstRun < c.end : id.getStart(sf) < c.end) out.add(sym);
  }
  const isConst = new Set();
  for (const [sym, c] of candidates) if (!out.has(sym) && !writtenNames.has(c.name)) isConst.add(c.decl);

  // Rewrite: each top-level statement with a const-able declaration, as runs of declarators of one kind.
  let result = '';
  let at = 0;
  const names = [];
  for (const s of sf.statements) {
    if (!ts.isVariableStatement(s)) continue;
    const list = s.declarationList.declarations;
    if (!list.some((d) => isConst.has(d))) continue;
    const prefix = code.slice(s.getStart(sf), s.declarationList.getStart(sf)); // `export ` or ''
    const keyword = s.declarationList.flags & ts.NodeFlags.Let ? 'let' : 'var';
    const runs = [];
    for (const d of list) {
      const kind = isConst.has(d) ? 'const' : keyword;
      if (kind === 'const') names.push(d.name.text);
      const text = code.slice(d.getStart(sf), d.end);
      if (runs.length && runs[runs.length - 1].kind === kind) runs[runs.length - 1].texts.push(text);
      else runs.push({ kind, texts: [text] });
    }
    const end = code[s.end - 1] === ';' ? s.end - 1 : s.end;
    result += code.slice(at, s.getStart(sf)) + runs.map((r) => `${prefix}${r.kind} ${r.texts.join(',')}`).join(';');
    at = end;
  }
  return { code: result + code.slice(at), names, firstRun };
}

/**
 * Names every XS app has as keys already: XS's built-in IDs (xs/sources/xsCommon.c, gxIDStrings,
 * outside its #if blocks), standard ones first, none that an engine protocol reads from an ordinary object (no
 * `then`, `next`, `length`, `constructor`, `toString`…, no RegExp or Error protocol names), none a
 * keyword or a global. test/moddable-size.test.ts checks that each is a key of the baseline app.
 */
export const KEY_POOL = (
  'abs acos acosh asin asinh atan atan2 atanh cbrt ceil clz32 cos cosh exp expm1 floor fround hypot imul log log10 ' +
  'log1p log2 max min pow random round sign sin sinh sqrt tan tanh trunc at concat copyWithin entries every fill ' +
  'filter find findIndex flat flatMap forEach includes indexOf join keys lastIndexOf map pop push reduce ' +
  'reduceRight reverse shift slice some sort splice unshift values charAt charCodeAt codePointAt endsWith ' +
  'normalize padEnd padStart repeat startsWith substring trim trimEnd trimStart fromCharCode fromCodePoint ' +
  'localeCompare raw assign create freeze fromEntries getPrototypeOf defineProperty defineProperties ' +
  'getOwnPropertyNames getOwnPropertySymbols getOwnPropertyDescriptor getOwnPropertyDescriptors ' +
  'preventExtensions seal hasOwn construct ownKeys deleteProperty now parse getDate getDay getFullYear getHours ' +
  'getMilliseconds getMinutes getMonth getSeconds getTime getTimezoneOffset getUTCDate getUTCDay getUTCFullYear ' +
  'getUTCHours getUTCMilliseconds getUTCMinutes getUTCMonth getUTCSeconds setDate setFullYear setHours ' +
  'setMilliseconds setMinutes setMonth setSeconds setTime setUTCDate setUTCFullYear setUTCHours ' +
  'setUTCMilliseconds setUTCMinutes setUTCMonth setUTCSeconds stringify getInt8 getUint8 getInt16 getUint16 ' +
  'getInt32 getUint32 getFloat32 getFloat64 getBigInt64 getBigUint64 setInt8 setUint8 setInt16 setUint16 ' +
  'setInt32 setUint32 setFloat32 setFloat64 setBigInt64 setBigUint64 subarray all any race reject resolve ' +
  'allSettled add has clear size asIntN asUintN keyFor deref index input groups proxy revoke revocable and or ' +
  'xor sub store load wait notify exchange compareExchange findLast findLastIndex getYear setYear substr ' +
  'trimLeft trimRight transfer resize indices id mod uri append bitLength boundArguments boundFunction ' +
  'boundThis busy cache center chunk closure compare count free fromArrayBuffer fromBigInt fromString grow ' +
  'idiv idivmod imod imuldiv irem iterable left line local path peek poke reason result right status ' +
  'transfers wake weak'
).split(' ');

/**
 * `code` (esbuild's, private members still named _x) with its own names made names every XS app has
 * as keys (KEY_POOL). On XS each distinct name a module uses, a local's as a property's, is a key in
 * flash: a slot, a pointer and its characters, about 45 B on lin. esbuild's short names (a, b, Et…)
 * are keys of their own; these are not. A name is renamed, the same way everywhere in the file, when
 * each of its uses is a binding declared in the file (a local, a parameter, a module binding, not an
 * import's imported name nor an export's exported one) or the name of a private property (`_x`), and
 * no string in the file is that name. A pool name is used only if the file has no use of it at all, so
 * no binding comes to shadow another and no property to meet another. `keyMap` gets old → new.
 */
export function reuseKeys(code, keyMap = new Map()) {
  const { source, symbolOf } = parse(code);
  // `export var x`, `export function x`, `export class x`: x is the export's name too
  const exported = (d) => {
    const st = ts.isVariableDeclaration(d) ? d.parent.parent : d;
    return !!st.modifiers?.some((k) => k.kind === ts.SyntaxKind.ExportKeyword || k.kind === ts.SyntaxKind.DefaultKeyword);
  };
  const seen = new Set();
  const bad = new Set();
  const ids = [];
  (function visit(n) {
    if (ts.isStringLiteralLike(n) || ts.isTemplateLiteralToken(n)) bad.add(n.text); // o["x"], "x" in o
    if (ts.isIdentifier(n) || ts.isPrivateIdentifier(n)) {
      const name = n.text;
      seen.add(name);
      ids.push(n);
      const p = n.parent;
      if (ts.isPrivateIdentifier(n) || ts.isShorthandPropertyAssignment(p) || ts.isMetaProperty(p)) bad.add(name);
      else if (isPropertyName(n) || (ts.isBindingElement(p) && p.propertyName === n)) {
        if (!name.startsWith('_')) bad.add(name);
      } else if (ts.isExportSpecifier(p) ? p.name === n || !p.propertyName : ts.isImportSpecifier(p) && (p.propertyName === n || !p.propertyName)) bad.add(name);
      else {
        const decl = symbolOf(n)?.declarations;
        if (!decl?.length || decl.some((d) => d.getSourceFile() !== source || exported(d))) bad.add(name);
      }
    }
    ts.forEachChild(n, visit);
  })(source);
  const free = KEY_POOL.filter((k) => !seen.has(k) && !bad.has(k));
  const want = [...seen].filter((name) => !bad.has(name) && !KEY_POOL.includes(name));
  for (const name of want) if (free.length) keyMap.set(name, free.shift());
  const edits = [];
  for (const n of ids) if (keyMap.has(n.text)) edits.push({ start: n.getStart(), end: n.getEnd(), text: keyMap.get(n.text) });
  return applyEdits(code, edits, 0, code.length);
}

/**
 * The device bundle's post-processing, in order: numeric constants inlined, own names made keys
 * every app has, module functions made arrows, gathered into one object, reached through `this`,
 * and module bindings made const. `renamed` gets each gathered function's new name → its name
 * before; `keyMap` gets reuseKeys's esbuild name → new name.
 */
export function postProcess(code, fileName, renamed = new Map(), keyMap = new Map()) {
  const out = constBindings(thisRoutes(gatherFunctions(arrowFunctions(reuseKeys(inlineConstants(code), keyMap)), renamed)), fileName).code;
  // esbuild again, syntax only (no renaming): what the inlined constants made foldable (XS ? a : b)
  // folds, and the empty statements the passes left go.
  return transformSync(out, { minifySyntax: true, minifyWhitespace: true, format: 'esm', target: 'es2022', legalComments: 'none' }).code;
}
