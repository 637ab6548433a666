// The layering rules of ../shared/design.md, checked on the sources and on the built bundle:
// src/ is the pure core that runs on XS — no host I/O, clocks, console or Buffer; codec/ imports
// nothing above it; session/ imports codec/ only.
import { build } from 'esbuild';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Source text without comments, so prose about `Date` or `console` does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

const FORBIDDEN = /\b(Date|setTimeout|setInterval|clearTimeout|console|Buffer|require|process|TextEncoder|TextDecoder)\b/;

describe('layering', () => {
  const all = files(src);
  it('finds the sources', () => expect(all.length).toBeGreaterThan(8));

  for (const f of all) {
    const rel = relative(src, f);
    it(`${rel}: imports only what its layer may`, () => {
      const text = code(readFileSync(f, 'utf8'));
      const imports = [...text.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? m[2]);
      for (const spec of imports) {
        expect(spec, `${rel} imports ${spec}`).toMatch(/^\.\.?\//); // relative only: no node:*, embedded:*, timer, time, packages
        const target = relative(src, join(f, '..', spec));
        expect(target.startsWith('..'), `${rel} reaches outside src/: ${spec}`).toBe(false);
        if (rel.startsWith('codec/')) expect(target.startsWith('codec/'), `${rel} → ${target}`).toBe(true);
        if (rel.startsWith('session/')) expect(/^(codec|session)\//.test(target), `${rel} → ${target}`).toBe(true);
      }
    });
    it(`${rel}: uses no host globals (Date, timers, console, Buffer, process)`, () => {
      const m = code(readFileSync(f, 'utf8')).match(FORBIDDEN);
      expect(m?.[0], rel).toBeUndefined();
    });
  }

  it('the bundle of src/ uses no host globals either', async () => {
    const r = await build({ entryPoints: [join(src, 'index.ts')], bundle: true, write: false, format: 'esm', platform: 'neutral', logLevel: 'error' });
    const text = code(r.outputFiles[0].text);
    expect(text.length).toBeGreaterThan(5000);
    expect(text.match(FORBIDDEN)?.[0]).toBeUndefined();
  });

  it('hosts import src/ (and Node or Moddable modules), never each other', () => {
    const hostsDir = join(root, 'hosts');
    const hostFiles = files(hostsDir);
    expect(hostFiles.length).toBeGreaterThanOrEqual(2);
    for (const f of hostFiles) {
      const own = relative(hostsDir, f).split('/')[0];
      const text = code(readFileSync(f, 'utf8'));
      for (const m of text.matchAll(/\bfrom\s+['"](\.[^'"]+)['"]/g)) {
        const target = relative(root, join(f, '..', m[1]));
        const ok = target.startsWith('src/') || target.startsWith(`hosts/${own}/`);
        expect(ok, `${relative(root, f)} imports ${m[1]}`).toBe(true);
      }
    }
  });

  it('the check catches a violation (it can fail)', () => {
    expect(code('const t = Date.now(); // Date').match(FORBIDDEN)?.[0]).toBe('Date');
    expect(code('// Date in a comment only').match(FORBIDDEN)).toBeNull();
  });
});
