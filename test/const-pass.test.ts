// tools/xs-post.mjs's constBindings: esbuild's module-level `var`s back to `const` for xsl (no
// "no const" warnings, a preloaded module environment that is not aliasable), only where nothing
// writes the binding and no read can hit the temporal dead zone.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs tools without declarations
import { constBindings } from '../tools/xs-post.mjs';

const root = new URL('..', import.meta.url).pathname;
const pass = (code: string): string => constBindings(code).code as string;
let evaluations = 0;
/** The module's exports as JSON (a function's, what a call returns), or the error its evaluation throws. */
const evaluate = async (code: string): Promise<string> => {
  try {
    // A fresh module each time: the same URL would be the instance already evaluated.
    const m = await import('data:text/javascript,' + encodeURIComponent(code + '\n//' + evaluations++));
    return JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v === 'function' ? String((v as () => unknown)()) : v])));
  } catch (e) {
    return 'throws ' + (e as Error).name;
  }
};

const cases: [string, string, string][] = [
  ['unwritten bindings', 'var a=1,b="x",c=/y/g;var d=class{m(){return a}};export{a,b,c,d}', 'const a=1,b="x",c=/y/g;const d=class{m(){return a}};export{a,b,c,d}'],
  ['written: =', 'var a=1,b=2;function f(){a=3;return a}export{f,b}', 'var a=1;const b=2;function f(){a=3;return a}export{f,b}'],
  ['written: +=', 'var a=1;function f(){a+=1;return a}export{f}', 'var a=1;function f(){a+=1;return a}export{f}'],
  ['written: ++', 'var a=1;function f(){return a++}export{f}', 'var a=1;function f(){return a++}export{f}'],
  ['written: ??=', 'var a=1;function f(){return a??=2}export{f}', 'var a=1;function f(){return a??=2}export{f}'],
  ['written: destructuring', 'var a=1,b=2;function f(){[a]=[3];({x:b}={x:4});return a+b}export{f}', 'var a=1,b=2;function f(){[a]=[3];({x:b}={x:4});return a+b}export{f}'],
  ['written: shorthand destructuring', 'var a=1;function f(){({a}={a:2});return a}export{f}', 'var a=1;function f(){({a}={a:2});return a}export{f}'],
  ['written: for-of', 'var a=1;function f(){for(a of[5]);return a}export{f}', 'var a=1;function f(){for(a of[5]);return a}export{f}'],
  ['a shadowing local is not the binding', 'var a=1;function f(a){a=2;return a}export{f,a}', 'const a=1;function f(a){a=2;return a}export{f,a}'],
  ['no initialiser', 'var a;function f(){return a}export{f}', 'var a;function f(){return a}export{f}'],
  ['declared twice', 'var a=1;var a=2;export{a}', 'var a=1;var a=2;export{a}'],
  ['a function of the same name', 'var a=1;function a(){}export{a}', 'var a=1;function a(){}export{a}'],
  ['a written let stays let', 'let a=1,b=2;export function f(){a=b;return a}', 'let a=1;const b=2;export function f(){a=b;return a}'],
  ['export var', 'export var a=1,b=2;export function f(){b=3;return b}', 'export const a=1;export var b=2;export function f(){b=3;return b}'],
  ['eval leaves the file alone', 'var a=1;function f(){return eval("a")}export{f,a}', 'var a=1;function f(){return eval("a")}export{f,a}'],
  ['TDZ: read before its declaration', 'var b=a;var a=1;export{a,b}', 'const b=a;var a=1;export{a,b}'],
  ['TDZ: a call before its declaration', 'var b=f();var a=1;function f(){return a}export{a,b}', 'const b=f();var a=1;function f(){return a}export{a,b}'],
  ['a call after its declaration', 'var a=1;var b=f();function f(){return a}export{a,b}', 'const a=1;const b=f();function f(){return a}export{a,b}'],
  ['a global constructor on literals calls nothing', 'var a=new Uint8Array([1,2]),b=String.prototype,c=b.charAt;function f(){return d}var d=3;export{a,c,f}', 'const a=new Uint8Array([1,2]),b=String.prototype,c=b.charAt;function f(){return d}const d=3;export{a,c,f}'],
  ['builtins on plain data call nothing', 'var a=Uint8Array.of(1,2),b=Object.freeze({x:!0,y:[1]});function f(){return c}var c=3;export{a,b,f}', 'const a=Uint8Array.of(1,2),b=Object.freeze({x:!0,y:[1]});function f(){return c}const c=3;export{a,b,f}'],
  ['TDZ: a builtin given a method', 'var b=[2,1].sort(function(){return a}),a=1;export{a,b}', 'const b=[2,1].sort(function(){return a});var a=1;export{a,b}'],
  ['TDZ: a builtin replaced', 'Math.max=function(){return a};var b=Math.max(1),a=1;export{a,b}', 'Math.max=function(){return a};const b=Math.max(1);var a=1;export{a,b}'],
  ['TDZ: a global replaced', 'globalThis.g=1;g=function(){return a};var b=g(),a=1;export{a,b}', 'globalThis.g=1;g=function(){return a};const b=g();var a=1;export{a,b}'],
  ['TDZ: a binding of a builtin, rebound', 'var m=Math.max;m=function(){return a};var b=m(),a=1;export{a,b}', 'var m=Math.max;m=function(){return a};const b=m();var a=1;export{a,b}'],
  ['TDZ: a getter', 'var o={get x(){return a}},y=o.x,a=1;export{y,a}', 'const o={get x(){return a}},y=o.x;var a=1;export{y,a}'],
  ['TDZ: valueOf', 'var o={valueOf(){return a}},y=o+1,a=1;export{y,a}', 'const o={valueOf(){return a}},y=o+1;var a=1;export{y,a}'],
  ['TDZ: an iterator', 'var o={*[Symbol.iterator](){yield a}},y=[...o],a=1;export{y,a}', 'const o={*[Symbol.iterator](){yield a}},y=[...o];var a=1;export{y,a}'],
  ['TDZ: a static field', 'var A=class{static x=B},B=1;export{A,B}', 'const A=class{static x=B};var B=1;export{A,B}'],
  ['a class that reads itself in a static field', 'var A=class{static x=A};export{A}', 'var A=class{static x=A};export{A}'],
  ['statements without semicolons', 'var a=1\nvar b=2\nexport{a,b}', 'const a=1\nconst b=2\nexport{a,b}'],
];

describe('constBindings (tools/build.mjs)', () => {
  for (const [name, input, output] of cases) {
    it(name, async () => {
      expect(pass(input)).toBe(output);
      // The rewritten module does what the original did.
      expect(await evaluate(output)).toBe(await evaluate(input));
    });
  }

  it('the XS build has its module-level bindings const, and its modules still load', async () => {
    if (!existsSync(root + 'dist/xs/index.js')) execFileSync(process.execPath, [root + 'tools/build.mjs'], { stdio: 'ignore' });
    for (const file of ['dist/xs/index.js', 'dist/xs/codec.js', 'dist/xs/moddable.js']) {
      const code = readFileSync(root + file, 'utf8');
      expect(constBindings(code).names, file).toEqual([]); // nothing left to do: the build ran the pass
      expect(code, file).toMatch(/(^|;)const /);
    }
    const index = await import(root + 'dist/xs/index.js');
    expect(typeof index.Client).toBe('function');
    const codec = await import(root + 'dist/xs/codec.js');
    expect(Object.keys(codec).length).toBeGreaterThan(0);
  });
});
