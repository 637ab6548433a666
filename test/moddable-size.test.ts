// The device budget on the real toolchain (tools/moddable/size.mjs, which npm run size prints): seven
// apps built with mcconfig and run in mcsim. Skips without the SDK (test/moddable.test.ts says how
// to get it, and fails there when CI requires it).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs tools without declarations
import { KEY_POOL } from '../tools/xs-post.mjs';
// @ts-expect-error plain .mjs tools without declarations
import { ensureBuilt, sdk } from '../tools/moddable/sim.mjs';
// @ts-expect-error plain .mjs tools without declarations
import { BUDGET, measureDevice, ramByPart, RAM_PARTS, useCosts } from '../tools/moddable/size.mjs';
// @ts-expect-error plain .mjs tools without declarations
import { byFeature, deviceNames, libraryBreakdown } from '../tools/moddable/heap.mjs';

describe.runIf(!!sdk())('what the device pays, on the real Moddable toolchain', () => {
  it('xs-mqtt over plain TCP stays within its flash and RAM budget; TLS is linked only by an app that opts in', async () => {
    ensureBuilt();
    const { apps, growth } = await measureDevice();
    console.log('device figures (growth over the baseline app):', JSON.stringify(Object.fromEntries(Object.entries(growth).map(([k, g]: [string, any]) => [k, { archive: g.archive, xsb: g.xsb, slots: g.slots, ram: g.ram }]))));
    // Every app connected and measured itself, the anchors too: the figures are real.
    for (const name of ['baseline', 'plain', 'tls', 'ecma419', 'mqtt', 'xs419']) expect(apps[name].ram, name).toBeDefined();
    expect(growth.ecma419.archive).toBeGreaterThan(10_000);
    expect(growth.plain.archive).toBeGreaterThan(growth.ecma419.archive); // it measured our code
    expect(growth.plain.archive).toBeLessThanOrEqual(BUDGET.archive);
    expect(growth.plain.ram).toBeLessThanOrEqual(BUDGET.ram);
    // xs-mqtt's ECMA-419 class (the Session and codec in one module) has a flash budget of its own.
    expect(growth.xs419.archive).toBeGreaterThan(growth.ecma419.archive);
    expect(growth.xs419.archive).toBeLessThanOrEqual(BUDGET.xs419);
    // An app without TLS links none of Moddable's TLS stack; one that includes manifest_tls.json does.
    expect(Object.keys(apps.plain.xsbFiles).filter((f: string) => /^ssl\/|tls/.test(f))).toEqual([]);
    expect(Object.keys(apps.tls.xsbFiles).some((f: string) => f.startsWith('ssl/'))).toBe(true);
    expect(growth.tls.archive - growth.plain.archive).toBeGreaterThan(100_000);
    // tools/xs-post.mjs's reuseKeys names the library's own names from KEY_POOL: each is a key every
    // app has (the baseline has it), so none costs a key.
    const baseKeys = new Set([...readFileSync(apps.baseline.heap, 'utf8').matchAll(/XS_KEY_X?_KIND\}, \.value = \{ \.key = \{ "([^"]*)"/g)].map((m) => m[1]));
    expect(baseKeys.size).toBeGreaterThan(300);
    expect(KEY_POOL.filter((k: string) => !baseKeys.has(k))).toEqual([]);

    // The function-by-function breakdown (npm run size) accounts for the plain app's preloaded slots:
    // the library's heap and its new keys are the slots the app grew by, give or take the app's own
    // few; every function is named and placed in the source.
    const heap = await libraryBreakdown(apps.plain.heap, new URL('..', import.meta.url).pathname);
    expect(heap.rows.reduce((n: number, r: any) => n + r.slots, 0)).toBe(heap.slots);
    expect(Math.abs(heap.slots + growth.plain.keys - growth.plain.slots)).toBeLessThanOrEqual(10);
    const fns = heap.rows.filter((r: any) => r.kind === 'function');
    expect(fns.length).toBeGreaterThan(50);
    expect(fns.filter((r: any) => !/^(src|hosts)\/.+\.ts:\d+$/.test(r.where)).map((r: any) => r.name)).toEqual([]);
    expect(fns.map((r: any) => r.name)).toEqual(expect.arrayContaining(['Client', 'Client.prototype.publish', 'Decoder.prototype.push', 'writePublish', 'utf8']));
    // ...and belongs to one feature of the "by feature" table (what each kilobyte buys), which
    // accounts for the whole heap.
    const { features, unassigned } = byFeature(heap.rows);
    expect(unassigned).toEqual([]);
    expect(features.reduce((n: number, [, b]: [string, number]) => n + b, 0)).toBe(heap.slots * 32 + heap.code);
    for (const [f, b] of features) expect(b, f).toBeGreaterThan(0);

    // RAM object by object (size/inventory, the same client listed): the objects a walk priced by
    // XS's layout come within 512 B of what the runtime measured (a typed array missed is 224 B, an
    // object of ten fields 352 B), each under its source name, in one part of the client.
    const inv = apps.inventory.ram;
    const measured = inv.slots + inv.chunks;
    expect(Math.abs(measured - growth.plain.ram)).toBeLessThanOrEqual(512); // the same client
    const parts = ramByPart(inv.objects, await deviceNames(new URL('..', import.meta.url).pathname));
    const walked = parts.reduce((n: number, p: any) => n + p.bytes, 0);
    expect(Math.abs(measured - walked), `walked ${walked} B of ${measured} B`).toBeLessThanOrEqual(512);
    const paths = parts.flatMap((p: any) => p.objects.map((o: any) => o.path));
    expect(paths).toEqual(expect.arrayContaining(['client', 'client.session', 'client.session.message', 'client.session._ob', 'client._link', 'host', 'client._rx', 'client.session._tx', 'client._link._rx']));
    expect(parts.map((p: any) => p.objects.length).every((n: number) => n > 0)).toBe(true);
    expect(parts.length).toBe(RAM_PARTS.length);
    // ...and what use adds to it, measured there after the listing: a string topic published (its
    // bytes cached), then a subscription with its handler and a second topic (size/inventory/main.js).
    expect(inv.use.length).toBe(2);
    const { topic, subscription } = useCosts(inv.use);
    expect(topic).toBeGreaterThan(0);
    expect(topic).toBeLessThanOrEqual(BUDGET.topic);
    expect(subscription).toBeGreaterThan(0);
    expect(subscription).toBeLessThanOrEqual(BUDGET.subscription);
  }, 600_000);
});
