// Inlines the device bundle's numeric module constants (tools/build.mjs runs it on dist/xs/*.js).
//
// esbuild inlines a module-level `const` only while no statement with a possible side effect comes
// before it in its file, and not across files of this bundle, so most of the protocol's numbers
// (packet types, states, statuses) reach XS as module variables. On the device a function that reads
// a module variable captures it: one closure slot per variable per function, in flash (xsl's heap,
// 32 B each on lin, 16 B on an ESP32), and the variable's own slot. This pass replaces every read
// of a module-level variable that holds a number literal and is never assigned again with the
// number, and drops the variable unless it is exported. Strings stay variables on purpose: in a
// preloaded module XS copies a string literal into a new chunk each time it is evaluated.
//
// Scoping is the TypeScript checker's (minified code reuses short names in inner scopes).
import ts from 'typescript';

/** `code` with its numeric module constants inlined; `report` gets { name, value, uses } per constant. */
export function inlineConstants(code, report = () => {}) {
  const file = 'bundle.js';
  const host = ts.createCompilerHost({ allowJs: true });
  const source = ts.createSourceFile(file, code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  host.getSourceFile = (name) => (name === file ? source : undefined);
  host.fileExists = (name) => name === file;
  host.readFile = (name) => (name === file ? code : undefined);
  const program = ts.createProgram([file], { allowJs: true, noLib: true, noResolve: true, target: ts.ScriptTarget.ES2022 }, host);
  const checker = program.getTypeChecker();

  // Candidates: module-level `var|let|const x = <number>` (or -<number>).
  const candidates = new Map(); // symbol → { decl, text, name }
  for (const st of source.statements) {
    if (!ts.isVariableStatement(st)) continue;
    for (const d of st.declarationList.declarations) {
      if (!ts.isIdentifier(d.name) || !d.initializer) continue;
      const init = d.initializer;
      const num = ts.isNumericLiteral(init) || (ts.isPrefixUnaryExpression(init) && init.operator === ts.SyntaxKind.MinusToken && ts.isNumericLiteral(init.operand));
      if (!num) continue;
      const text = ts.isNumericLiteral(init) ? init.text : '-' + init.operand.text;
      candidates.set(checker.getSymbolAtLocation(d.name), { decl: d, text: String(Number(text)), name: d.name.text, uses: [], exported: false });
    }
  }
  // Every reference; a write disqualifies.
  const isWrite = (id) => {
    let n = id;
    while (ts.isParenthesizedExpression(n.parent)) n = n.parent;
    const p = n.parent;
    if (ts.isBinaryExpression(p) && p.left === n && p.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && p.operatorToken.kind <= ts.SyntaxKind.LastAssignment) return true;
    if ((ts.isPrefixUnaryExpression(p) || ts.isPostfixUnaryExpression(p)) && (p.operator === ts.SyntaxKind.PlusPlusToken || p.operator === ts.SyntaxKind.MinusMinusToken)) return true;
    if (ts.isArrayLiteralExpression(p) || ts.isShorthandPropertyAssignment(p) || ts.isSpreadElement(p)) return true; // possible destructuring target
    if (ts.isForInStatement(p) || ts.isForOfStatement(p)) return p.initializer === n;
    return false;
  };
  const visit = (node) => {
    if (ts.isIdentifier(node)) {
      const sym = checker.getSymbolAtLocation(node);
      const c = sym && candidates.get(sym);
      if (c && node !== c.decl.name) {
        const p = node.parent;
        if (ts.isExportSpecifier(p)) c.exported = true;
        else if (isWrite(node)) c.written = true;
        else if ((ts.isPropertyAccessExpression(p) || ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p) || ts.isGetAccessor(p) || ts.isSetAccessor(p)) && p.name === node) {
          /* a property name, not a read */
        } else c.uses.push(node);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);

  // Edits, applied back to front: each read becomes the number, each unexported declaration goes.
  const edits = [];
  for (const c of candidates.values()) {
    if (c.written) continue;
    report({ name: c.name, value: c.text, uses: c.uses.length, exported: c.exported });
    for (const id of c.uses) {
      const p = id.parent;
      let text = c.text.startsWith('-') ? `(${c.text})` : c.text;
      // `{x}` shorthand would need `x:`; `a.b` after a number needs a space (`1 .b`) — parenthesise.
      if (ts.isPropertyAccessExpression(p) && p.expression === id) text = `(${c.text})`;
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
    const dropped = decls.filter((d) => ts.isIdentifier(d.name) && [...candidates.values()].some((c) => c.decl === d && c.dropFromList && !c.written));
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

/**
 * `code` with its module-level function declarations made arrow functions, declared first.
 * On XS a `function` declaration carries a prototype object (three preloaded slots: 96 B of flash
 * on lin); an arrow function has none. Declaring them first keeps a declaration's hoisting: each is
 * assigned before any other statement of the module runs, and its body reads variables only when
 * called, as before. Skipped: a function that uses `this`, `arguments` or `new.target`, a
 * generator, and one that is constructed (`new f`).
 */
export function arrowFunctions(code) {
  const source = ts.createSourceFile('bundle.js', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const constructed = new Set();
  const walk = (n) => {
    if (ts.isNewExpression(n) && ts.isIdentifier(n.expression)) constructed.add(n.expression.text);
    ts.forEachChild(n, walk);
  };
  walk(source);
  const usesThis = (fn) => {
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
  };
  const moved = [];
  const edits = [];
  for (const st of source.statements) {
    if (!ts.isFunctionDeclaration(st) || !st.name || !st.body || st.asteriskToken || st.modifiers?.length) continue;
    if (constructed.has(st.name.text) || usesThis(st)) continue;
    const params = code.slice(st.parameters.pos, st.parameters.end);
    const async = '';
    moved.push(`var ${st.name.text}=${async}(${params})=>${code.slice(st.body.getStart(), st.body.getEnd())};`);
    edits.push({ start: st.getStart(), end: st.getEnd() });
  }
  let out = '';
  let at = 0;
  for (const e of edits) {
    out += code.slice(at, e.start);
    at = e.end;
  }
  return moved.join('') + out + code.slice(at);
}
