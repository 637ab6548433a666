// The size budget is enforced in the test run (tools/size.mjs prints the same figures).
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM tool without type declarations
import { measure, parts } from '../tools/size.mjs';

describe('size budget', () => {
  for (const name of Object.keys(parts)) {
    it(`${name} stays within its budget (minified, esbuild)`, async () => {
      const m = await measure(name);
      expect(m.minified).toBeGreaterThan(1000); // it measured real code
      if (m.budget.minified) expect(m.minified).toBeLessThanOrEqual(m.budget.minified);
      if (m.budget.gzip) expect(m.gzip).toBeLessThanOrEqual(m.budget.gzip);
    });
  }
});
