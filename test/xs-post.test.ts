// The device bundle's post-processing (tools/xs-post.mjs): numeric module constants inlined, module
// functions made arrows and gathered into one object (constBindings has test/const-pass.test.ts). Small cases for the scoping and syntax traps of minified code, then
// the whole library, minified as for the device, against itself unprocessed: the same bytes out of
// every encoder and the same statuses out of the decoder for seeded random input.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs tool without declarations
import { KEY_POOL, XS_ESBUILD, arrowFunctions, gatherFunctions, inlineConstants, postProcess, reuseKeys, thisRoutes } from '../tools/xs-post.mjs';

const run = (code: string) => new Function(code.replace(/export\s*\{[^}]*\};?/, '') + ';return out')();

describe('inlineConstants', () => {
  it('replaces reads of never-assigned numeric module variables and drops the unexported ones', () => {
    const src = 'var a=1,b=-2,c=3;var d=4;function f(x){return x+a- b}var out=[f(1),d,c];c=5;export{d as D};';
    const got = inlineConstants(src);
    expect(got).not.toMatch(/\ba=1/);
    expect(got).toContain('x+1- (-2)');
    expect(got).toContain('var d=4'); // exported: kept, and its reads inlined
    expect(got).toMatch(/c=3/); // assigned again: stays a variable
    expect(run(got)).toEqual(run(src));
  });

  it('respects shadowing, property names, class fields, keywords and member access', () => {
    const src =
      'var a=7,b=8;class K{a=a;b(){return b}get x(){return this.a}}' +
      'function g(a){return a*2}function h(){let b=1;return b}' +
      'var o={a:1,b:a};function k(){return typeof a}function m(){return a.toString()}' +
      'function s(v){switch(v){case a:return 1}return 0}var q={a,b:b};' +
      'var out=[new K().a,new K().b(),new K().x,g(3),h(),o.a,o.b,k(),m(),s(7),q];';
    const got = inlineConstants(src);
    expect(got).not.toMatch(/var a=7/);
    expect(run(got)).toEqual(run(src));
  });

  it('keeps a variable that is a destructuring or update target', () => {
    const src = 'var a=1,b=2,c=3,d=4;[a]=[5];b++;({d}={d:6});var out=[a,b,c,d];';
    const got = inlineConstants(src);
    expect(got).toMatch(/a=1/);
    expect(got).toMatch(/b=2/);
    expect(got).toMatch(/d=4/);
    expect(run(got)).toEqual([5, 3, 3, 6]);
  });
});

describe('arrowFunctions', () => {
  it('makes plain module functions arrows, declared first, so a call before the declaration still works', () => {
    const src = 'var out=[f(2)];function f(x){return g(x)+1}function g(x){return x*10}';
    const got = arrowFunctions(src);
    expect(got).toMatch(/^var f=\(x\)=>/);
    expect(got).not.toContain('function');
    expect(run(got)).toEqual([21]);
  });

  it('leaves functions that use this, arguments or new, and generators', () => {
    const src =
      'function t(){return this}function a(){return arguments.length}function C(){this.v=1}function*G(){yield 1}' +
      'function n(){return ()=>arguments[0]}var out=[t.call(5)+0,a(1,2),new C().v,[...G()][0],n(9)()];';
    const got = arrowFunctions(src);
    expect(got.match(/function/g)).toHaveLength(5);
    expect(run(got)).toEqual(run(src));
  });
});

describe('gatherFunctions', () => {
  it('makes module arrow functions methods of one object; exports, shorthands, recursion and values still work', () => {
    const src =
      'var f=(n)=>{return n?n+f(n-1):0};var g=(x)=>{return x*2};var o={g};var e=(x)=>{return x+1};' +
      'var h=(a)=>{return a};var k=(x)=>{return [1,2].map(h)[0]+x};var out=[f(3),o.g(2),h===h,k(4),e(1)];export{e as E};';
    const got = gatherFunctions(src);
    expect(got).toMatch(/^var \$=\{\w\(n\)\{/); // renamed to one of the module's one-character names
    expect(got).toMatch(/,e=\$\.\w;/); // the export keeps a variable
    expect(got).toContain('var g=(x)=>'); // used as a value ({g}, map(h)): left an arrow
    expect(got).toContain('var h=(a)=>');
    expect(run(got)).toEqual(run(src));
  });
});

describe('thisRoutes', () => {
  it('routes the gathered object and module bindings through this, and sets the prototypes', () => {
    const src = gatherFunctions(arrowFunctions('function g(x){return x*2}var K={k:3};class A{m(x){return g(x)+K.k}}var out=new A().m(2);export{out}'));
    const got = thisRoutes(src);
    expect(got).toMatch(/A\.prototype\.\$=\$;/);
    expect(got).toMatch(/\$\.K=K;/);
    expect(got).toContain('this.$.K.k');
    expect(got).not.toMatch(/[^.\w]K\.k/); // no read of the module variable K left in a method
    expect(run(got)).toEqual(run(src));
  });
});

describe('reuseKeys', () => {
  it('names locals, module bindings and private members from the pool, and leaves public names', () => {
    const src = 'var tt=1;class Q{constructor(){this._v=tt}get value2(){return this._v}_inc(e){return this._v+=e}}var out=new Q()._inc(2);export{out as OUT,Q}';
    const keyMap = new Map<string, string>();
    const got = reuseKeys(src, keyMap);
    expect([...keyMap.keys()].sort()).toEqual(['_inc', '_v', 'e', 'out', 'tt']);
    for (const to of keyMap.values()) expect(KEY_POOL).toContain(to);
    expect(new Set(keyMap.values()).size).toBe(keyMap.size);
    expect(got).toContain('value2');
    expect(got).toContain('export{' + keyMap.get('out') + ' as OUT,Q}');
    expect(run(got.replace(/export\{[^}]*\}/, 'var out=' + keyMap.get('out')))).toBe(3);
  });

  it('uses no pool name the file already uses, in any role', () => {
    const src = 'var abs=1;var o={acos:2};function f(e){return e+abs+o.acos}var out=f(3);';
    const keyMap = new Map<string, string>();
    reuseKeys(src, keyMap);
    expect([...keyMap.values()]).not.toContain('abs');
    expect([...keyMap.values()]).not.toContain('acos');
    expect(keyMap.has('abs')).toBe(false);
  });
});

describe('postProcess on the traps a review found (each reproduced first, then fixed)', () => {
  let n = 0;
  /** A module's exports as JSON (a function's: what it returns when called), or what its evaluation throws. */
  const evaluate = async (code: string): Promise<string> => {
    try {
      const m = await import('data:text/javascript,' + encodeURIComponent(code + '\n//' + n++));
      return JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v === 'function' ? (v as () => unknown)() : v])));
    } catch (e) {
      return 'throws ' + (e as Error).name;
    }
  };
  const cases: Array<[string, string]> = [
    ['export{X} without an alias keeps X', 'var X=1;var out=X;export{X,out}'],
    ['export var X is left alone', 'export var X=1;export var Y=2,Z=3;'],
    ['a property in a destructuring target is a write', 'var X=1;({a:X}={a:5});var out=X;export{out}'],
    ['an object rest target is a write', 'var X=1;({...X}={a:5});var out=X.a;export{out}'],
    ['a nested shorthand target is a write', 'var X=1;({a:{X}}={a:{X:5}});var out=X;export{out}'],
    ['a for-of destructuring target is a write', 'var X=1;for({X} of [{X:5}]);var out=X;export{out}'],
    ['a name declared twice is left alone', 'var X=1;var c=1;if(c){var X=2}var out=X;export{out}'],
    ['-0 stays -0', 'var X=-0;var out=String(1/X);export{out}'],
    ['1e999 is not inlined as a name a parameter can shadow', 'var X=1e999;function f(Infinity){return X}var out=String(f(3));export{out}'],
    ['a default parameter calling another gathered function', 'function g(){return 1}function f(a=g()){return a}var out=f();export{out}'],
    ['export{f} without an alias keeps f', 'function f(){return 1}var out=f();export{f,out}'],
    ['more gathered functions than one-character names stay distinct', Array.from({ length: 70 }, (_, i) => `function f${i}(){return ${i}}`).join('') + 'var out=[' + Array.from({ length: 70 }, (_, i) => `f${i}()`).join(',') + '];export{out}'],
    ['an arrow that reads the module this is not gathered', 'var g=()=>{return typeof this};var out=g();export{out}'],
    ['an arrow used as a value keeps its name', 'var gg=()=>{};var out=[gg.name,{gg}];export{out}'], // {gg}: reuseKeys keeps it too
    ['export function and export class keep their names', 'export function f(){return 1}export class C{}export default function g(){return 2}'],
    ['a compound assignment at top level may run user code before a later declaration', 'var o={toString(){return String(Y)}};var s="";s+=o;var Y="y";export{s}'],
    ['a computed key at top level may run user code before a later declaration', 'var o={toString(){return String(Y)}};var m={[o]:1};var Y="y";var out=Object.keys(m)[0];export{out}'],
    // thisRoutes: functions reach the gathered object and the module's bindings through `this`
    ['an exported gathered function is called with any this', 'function g(){return 1}function f(){return g()+1}export{f}'],
    ['a class method calls a gathered function', 'function g(x){return x+1}class A{m(){return g(1)}}var out=new A().m();export{out}'],
    ['a derived class constructor (this before super)', 'function g(){return 2}class A{constructor(v){this.v=v}}class B extends A{constructor(){super(g())}}var out=new B().v;export{out}'],
    ['a static method (its this is the class)', 'function g(){return 3}class A{static s(){return g()}}var out=A.s();export{out}'],
    ['a var written after its declaration is not routed', 'function g(){return 0}var V=1;class A{m(){return V+g()}}V=2;var out=new A().m();export{out}'],
    ['a binding called in a method keeps its own this', 'function g(){return ""}var F=function(){return typeof this};class A{m(){return F()+g()}}var out=new A().m();export{out}'],
    ['a nested function in a method has its own this', 'function g(){return 4}class A{m(){return [1].map(function(){return g()})[0]}}var out=new A().m();export{out}'],
    ['a class in a var list, used later in the same list', 'function g(){return 5}var a=1,A=class{m(){return g()+a}},b=new A().m();export{b}'],
    ['a var read by a method before its declaration ran is undefined, as before', 'class A{m(){return typeof V}}var out=new A().m();var V={};var after=new A().m();export{out,after}'],
    ['a binding whose name is a gathered method', 'function f(){return 1}var _="s";function g(){return _+f()}class A{m(){return _+g()}}var out=new A().m()+g();export{out}'],
    ['a binding in a var list, read by a class later in the same list', 'function g(){return ""}var s="x",A=class{m(){return s+g()}},b=new A().m();export{b}'],
    ['a var declared twice is not routed', 'function g(){return 0}var V=1;class A{m(){return V+g()}}var o1=new A().m();var V=2;var out=[o1,new A().m()];export{out}'],
    // reuseKeys: own names made names every XS app has as keys
    ['private members of two classes and an object, renamed alike', 'class A{constructor(){this._x=1;this._y=2}_m(){return this._x+this._y}}var o={_x:5,_m(){return this._x}};var out=[new A()._m(),o._m(),Object.keys(o).length];export{out}'],
    ['a shorthand property keeps its public name', 'var x=[1],abs=[2];var o={x,abs};var out=o;export{out}'],
    ['a private name a string spells is left alone', 'var o={_a:1,_b:2};var out=[o["_a"],"_b" in o,o._b];export{out}'],
    ['a local named as a pool name already stays, and none shadows it', 'function f(abs,e){let t=abs+e;return function(){return t+abs}()}var out=f(1,2);export{out}'],
    ['globals, a label and arguments are left alone', 'function f(e){let max=Math.max(e,2);a:for(;;){if(max)break a}return arguments.length+max}var out=f(1);export{out}'],
    ['an exported name is kept, its local renamed', 'var t=3;export{t as T}'],
    ['a public property named as a local is kept', 'var len=4;var o={len:5};var out=[o.len,len];export{out}'],
    ['a subclass in the module inherits the route', 'function g(){return 6}class A{m(){return g()}}class B extends A{n(){return g()+this.m()}}var out=new B().n();export{out}'],
  ];
  for (const [name, code] of cases) {
    it(name, async () => {
      expect(await evaluate(postProcess(code, 'case.js'))).toBe(await evaluate(code));
    });
  }
});

describe('the library, minified as for the device, post-processed against itself', () => {
  it('encodes the same bytes and decodes to the same statuses (seeded)', async () => {
    const dir = join(process.cwd(), 'tools/.cache/xs-post');
    mkdirSync(dir, { recursive: true });
    const r = await build({ ...XS_ESBUILD, entryPoints: ['src/codec/index.ts'], write: false });
    const plain = r.outputFiles![0].text;
    const post = postProcess(plain, 'codec.js');
    expect(post).toMatch(/^(var|const) \$\w*=\{/);
    writeFileSync(join(dir, 'plain.mjs'), plain);
    writeFileSync(join(dir, 'post.mjs'), post);
    const A = await import(join(dir, 'plain.mjs'));
    const B = await import(join(dir, 'post.mjs'));
    expect(Object.keys(B).sort()).toEqual(Object.keys(A).sort());
    for (const k of Object.keys(A)) if (typeof A[k] === 'number') expect(B[k], k).toBe(A[k]);

    let seed = 0x9e3779b9;
    const rnd = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const pick = <T,>(xs: T[]) => xs[rnd(xs.length)];
    const topics = ['a/b', 'sensors/t', '', 'a/+/b', 'x#', 'ü/€', 'a\u0000b', '\ud800'];
    const call = (M: any, f: (m: any) => unknown) => {
      try {
        return { ok: f(M) };
      } catch (e) {
        return { threw: String(e) };
      }
    };
    for (let i = 0; i < 3000; i++) {
      const size = pick([0, 4, 16, 64, 300]);
      const args = {
        topic: pick(topics), payload: pick(['', 'hi', 'é'.repeat(rnd(40)), null]), qos: pick([0, 1, 2, 3]), retain: !!rnd(2), dup: !!rnd(2),
        id: pick([0, 1, 65535, 70000, 17]), filters: [pick(topics), pick(topics)].slice(0, rnd(3)), fq: [rnd(4), rnd(4)],
      };
      const ops = [
        (m: any, b: Uint8Array) => m.writePublish(b, 0, args.topic, args.payload, args.qos, args.retain, args.dup, args.id),
        (m: any, b: Uint8Array) => m.writeSubscribe(b, 0, args.id, args.filters, args.fq),
        (m: any, b: Uint8Array) => m.writeUnsubscribe(b, 0, args.id, args.filters),
        (m: any, b: Uint8Array) => m.writeConnect(b, 0, { clientId: args.topic, clean: args.retain, keepAliveSec: pick([0, 60, 70000]), username: args.dup ? 'u' : undefined, password: args.retain ? 'p' : undefined }),
        (m: any, b: Uint8Array) => m.writeAck(b, 0, pick([3, 4, 5, 6, 7, 8]), args.id),
        (m: any, b: Uint8Array) => m.writePingreq(b, 0),
        (m: any, b: Uint8Array) => m.writeDisconnect(b, 0),
        (m: any) => m.sizeOfPublish(args.topic, args.payload, args.qos, size || undefined),
      ];
      const op = ops[rnd(ops.length)];
      const state = seed;
      const once = (M: any) => {
        seed = state; // the same random choices inside the op for both
        const b = new Uint8Array(size);
        return { ...call(M, (m) => op(m, b)), bytes: Array.from(b) };
      };
      expect(once(B), `op ${ops.indexOf(op)} ${JSON.stringify(args)}`).toEqual(once(A));
    }
    // the decoder, fed the same seeded bytes in the same random pieces
    for (let i = 0; i < 300; i++) {
      const bytes = Uint8Array.from({ length: 1 + rnd(200) }, () => (rnd(3) ? rnd(256) : pick([0x30, 0x32, 0x40, 0x20, 0x90, 0xb0, 0xd0, 2, 0])));
      const feed = (M: any) => {
        const d = new M.Decoder(64);
        const out: unknown[] = [];
        let at = 0;
        const cuts = seedCuts(bytes.length, i);
        for (const n of cuts) {
          let off = at;
          while (off < at + n) {
            const s = d.push(bytes, off, at + n - off);
            out.push(s, d.type, d.consumed, d.qos, d.packetId, d.payloadLength);
            if (s < 0 || !d.consumed) break;
            off += d.consumed;
          }
          at += n;
        }
        return out;
      };
      expect(feed(B)).toEqual(feed(A));
    }
  });
});

function seedCuts(n: number, seed: number): number[] {
  const cuts: number[] = [];
  let left = n;
  let s = seed + 1;
  while (left > 0) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const c = Math.min(left, 1 + (s % 17));
    cuts.push(c);
    left -= c;
  }
  return cuts;
}
