// Zero allocation per operation on V8: the codec, the sans-IO session, the Client with its Message,
// and the Node host's write path, each measured exactly in its own process (alloc/measure.ts: the
// new-space bytes a loop leaves at two iteration counts, with no GC in between). Each workload also
// runs with one small allocation seeded every 10,000 operations, which the same verdict must catch.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Measurement } from './alloc/measure.js';

const NAMES = ['codec-alloc', 'session-alloc', 'client-alloc', 'node-alloc'];
const scripts: Record<string, string> = {};
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xs-mqtt-alloc-'));
  for (const name of NAMES) {
    scripts[name] = join(dir, name + '.mjs');
    await build({
      entryPoints: [new URL(`./alloc/${name}.ts`, import.meta.url).pathname],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: scripts[name],
      logLevel: 'error',
    });
  }
});

type Result = Measurement & { ok: boolean; kept: boolean };

function run(name: string, seedEvery = 0, mode = ''): Result {
  // A 1 MB young generation: an allocation per operation fills it, and a GC during the loop is a failure too.
  const args = ['--expose-gc', '--max-semi-space-size=1', scripts[name], seedEvery ? 'control:' + seedEvery : 'steady', mode];
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

/**
 * Why a measurement shows allocation, or '' when it shows none. New space is exact: a single
 * object allocated in n operations shows (an on-heap Uint8Array(1) is ~200 B). The other spaces move
 * by a page on their own (V8's bookkeeping after gc()), so they only fail for growing with the count.
 */
function allocation(r: Result): string {
  if (r.gcs > 0) return `${r.gcs} GC(s) ran during the measured loops`;
  if (r.young !== 0 || r.young2 !== 0) return `new space: ${r.young} B after ${r.n} operations, ${r.young2} B after ${2 * r.n}`;
  if (r.other2 - r.other > 64 * 1024) return `old spaces grew with the count: ${r.other} B, then ${r.other2} B`;
  return '';
}

describe('allocation', () => {
  // [script, mode, what, seeded allocation every K operations (the control), a known defect]
  const cases: Array<[string, string, string, number, string?]> = [
    ['codec-alloc', '', 'codec: encodes and decodes of PUBLISH QoS 0/1, PUBACK, PINGREQ/PINGRESP', 10_000],
    ['session-alloc', '', 'session: publish QoS 0, 1 (PUBACK) and 2 (PUBREC, PUBREL, PUBCOMP), receive and dispatch QoS 0 and 1', 10_000],
    ['client-alloc', '', "client: publish QoS 0/1/2 with string topics, receive QoS 0/1/2 and dispatch to a handler reading Message's fields", 10_000],
    ['node-alloc', 'read', "Node host: packets read from a real socket's link (per packet, beyond the read's own cost)", 100],
    [
      'node-alloc',
      'write',
      "Node host: packets written to a real socket's link (per packet, beyond the turn's own cost)",
      100,
    ],
  ];
  for (const [name, mode, what, seedEvery, defect] of cases) {
    // A known defect is kept visible: the test asserts it still allocates, and goes red when it is fixed.
    // The Node host's socket cases measure around real socket I/O: one run in a full, loaded suite
    // (2026-12-06) failed the write case once, and six loaded reruns did not; one retry. A real
    // per-packet allocation fails both tries (the seeded control below is not retried).
    (defect ? it.fails : it)(`${what}: 0 bytes per operation${defect ? ` (known defect: ${defect})` : ''}`, { retry: name === 'node-alloc' ? 1 : 0 }, () => {
      const r = run(name, 0, mode);
      expect(r.ok, 'the loop did its work').toBe(true);
      expect(allocation(r), JSON.stringify(r)).toBe('');
    });
    it(`${name} ${mode}: one small allocation seeded every ${seedEvery} operations is caught (the test can fail)`, () => {
      const r = run(name, seedEvery, mode);
      expect(r.ok && r.kept, 'the loop did its work').toBe(true);
      expect(allocation(r), JSON.stringify(r)).not.toBe('');
    });
  }
});
