// Zero allocation on the codec's steady-state path, measured in bytes on V8 (see alloc/codec-alloc.ts).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const scripts: Record<string, string> = {};
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xs-mqtt-alloc-'));
  for (const name of ['codec-alloc', 'session-alloc']) {
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

function run(mode: string, name = 'codec-alloc'): { n: number; delta: number; gcs: number; ok?: boolean } {
  // A 1 MB young generation: 100,000 allocations of even 12 bytes (1.2 MB) cannot fit without a GC.
  const out = execFileSync(process.execPath, ['--expose-gc', '--max-semi-space-size=1', scripts[name], mode], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('allocation', () => {
  it('100,000 encodes and decodes of PUBLISH QoS 0/1, PUBACK, PINGREQ/PINGRESP allocate 0 bytes', () => {
    const r = run('steady');
    expect(r.n).toBe(100_000);
    expect(r.gcs, 'a GC ran during the measurement: something allocated').toBe(0);
    // One object per iteration would be ≥ 1.2 MB (and would force a GC): the bound is < 2.6 B a
    // message. What it leaves room for is V8's own bookkeeping: after gc(), heapUsed can move by one
    // ~128 KB page independent of the loop (seen around an empty loop too).
    expect(Math.abs(r.delta)).toBeLessThan(256 * 1024);
  });

  it('the harness sees a single small allocation per iteration (the test can fail)', () => {
    const r = run('control');
    expect(r.gcs > 0 || r.delta > 100_000 * 16).toBe(true);
  });

  it('session steady state: 100,000 × (publish QoS 0 and QoS 1 with its PUBACK, receive and dispatch QoS 0 and QoS 1) allocate 0 bytes', () => {
    const r = run('steady', 'session-alloc');
    expect(r.ok, 'the loop did its work (messages acked, dispatched, sent)').toBe(true);
    expect(r.gcs, 'a GC ran during the measurement: something allocated').toBe(0);
    expect(Math.abs(r.delta)).toBeLessThan(256 * 1024); // < 2.6 B a message: see above
  });

  it('session harness sees a single small allocation per iteration (the test can fail)', () => {
    const r = run('control', 'session-alloc');
    expect(r.gcs > 0 || r.delta > 100_000 * 16).toBe(true);
  });
});
