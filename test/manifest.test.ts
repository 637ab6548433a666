// The Moddable manifests are valid JSON and point at modules the build produces.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

describe('Moddable manifests', () => {
  it('the library\'s manifest_mqtt.json, manifest_tls.json and the sensor app\'s parse, and every local module exists after the build', () => {
    if (!existsSync(root + 'dist/xs/index.js')) execFileSync(process.execPath, [root + 'tools/build.mjs'], { stdio: 'ignore' });
    const app = JSON.parse(readFileSync(root + 'examples/sensor/manifest.json', 'utf8'));
    expect(app.include).toContain('../../manifest_tls.json');
    // The app's own modules (its main, built by build:xs, part of npm run build) exist too.
    if (!existsSync(root + 'dist/xs/sensor.js')) execFileSync(process.execPath, [root + 'hosts/moddable/build.mjs'], { stdio: 'ignore' });
    const appModules = Object.values(app.modules ?? {}).flat() as string[];
    expect(appModules.length).toBeGreaterThan(0);
    for (const m of appModules) expect(existsSync(root + 'examples/sensor/' + m + '.js'), m).toBe(true);
    // TLS is its own manifest: the library's links none of it.
    const tls = JSON.parse(readFileSync(root + 'manifest_tls.json', 'utf8'));
    expect(tls.include).toContain('./manifest_mqtt.json');
    expect(tls.include.some((i: string) => i.includes('tlssocket'))).toBe(true);
    // …with the library's TLS opener ("xs-mqtt/tls", hosts/moddable/tls.ts), preloaded.
    expect(existsSync(root + tls.modules['xs-mqtt/tls'] + '.js')).toBe(true);
    expect(tls.preload).toEqual(['xs-mqtt/tls']);
    expect(readFileSync(root + 'dist/xs/moddable.js', 'utf8')).not.toMatch(/tcp\/tls|TLSSocket|secure/);
    const lib = JSON.parse(readFileSync(root + 'manifest_mqtt.json', 'utf8'));
    expect(JSON.stringify(lib)).not.toMatch(/tls/i);
    expect(lib.config).toBeUndefined(); // an app's config is the app's: the library's manifest sets none
    const modules = Object.values(lib.modules) as string[];
    expect(modules.length).toBeGreaterThan(0);
    for (const m of modules) expect(existsSync(root + m + '.js'), m).toBe(true);
    for (const p of lib.preload) expect(Object.keys(lib.modules)).toContain(p);
    // The XS build leaves Moddable's module specifiers to mcconfig and has no Node imports.
    const xs = readFileSync(root + 'dist/xs/index.js', 'utf8');
    expect(xs).not.toMatch(/from\s+['"]node:/);
  });
});

describe('manifest_mqttclient.json (ECMA-419\'s MQTT client class)', () => {
  it('maps embedded:network/mqtt/client to the built class and preloads it; the library\'s manifest links none of it', () => {
    if (!existsSync(root + 'dist/xs/mqttclient.js')) execFileSync(process.execPath, [root + 'hosts/moddable/build.mjs'], { stdio: 'ignore' });
    const m = JSON.parse(readFileSync(root + 'manifest_mqttclient.json', 'utf8'));
    expect(Object.keys(m.modules)).toEqual(['embedded:network/mqtt/client']);
    expect(existsSync(root + m.modules['embedded:network/mqtt/client'] + '.js')).toBe(true);
    expect(m.preload).toEqual(['embedded:network/mqtt/client']);
    for (const f of ['manifest_mqtt.json', 'manifest_tls.json']) expect(readFileSync(root + f, 'utf8')).not.toMatch(/mqttclient/);
    // Self-contained: it imports only Moddable's modules, not the library's.
    const text = readFileSync(root + 'dist/xs/mqttclient.js', 'utf8');
    const imports = [...text.matchAll(/\bfrom\s*["']([^"']+)["']/g)].map((x) => x[1]);
    expect(imports.filter((i) => !/^(embedded:|timer$|time$)/.test(i))).toEqual([]);
  });
});

describe('the sensor app\'s config', () => {
  it('declares in examples/sensor/manifest.json every config key the app reads, and none that Moddable\'s libraries own', () => {
    const app = JSON.parse(readFileSync(root + 'examples/sensor/manifest.json', 'utf8'));
    const main = readFileSync(root + 'examples/sensor/main.ts', 'utf8');
    const read = [...new Set([...main.matchAll(/\bconfig\.(\w+)/g)].map((m) => m[1]))];
    expect(read.length).toBeGreaterThan(8);
    for (const k of read) expect(Object.keys(app.config), `config.${k}`).toContain(k);
    // modules/crypt/tls_common.json (included through the TLS socket's manifest) has a "tls" object
    // in its config: a value of that name, in the manifest or on mcconfig's command line, replaces it.
    // "ssid" and "password" are setup/network's (Wi-Fi), given on the command line only.
    for (const k of ['tls', 'ssid', 'password']) expect(Object.keys(app.config)).not.toContain(k);
    expect(read).not.toContain('tls');
  });
});

describe('package exports', () => {
  it('every export resolves to a built file, and the Node host loads by its package name', () => {
    if (!existsSync(root + 'dist/node.js') || !existsSync(root + 'dist/types/hosts/node/index.d.ts')) execFileSync(process.execPath, [root + 'tools/build.mjs'], { stdio: 'ignore' });
    const pkg = JSON.parse(readFileSync(root + 'package.json', 'utf8'));
    const targets: string[] = [];
    for (const v of Object.values(pkg.exports) as Array<string | Record<string, string>>) targets.push(...(typeof v === 'string' ? [v] : Object.values(v)));
    expect(targets.length).toBeGreaterThan(8);
    for (const t of targets) expect(existsSync(root + t), t).toBe(true);
    expect(pkg.exports['./moddable'].moddable).toBe('./dist/xs/moddable.js');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('xs-mqtt/node'); const l = await import('xs-mqtt'); console.log(typeof m.NodeHost, typeof l.Client)"], { cwd: root, encoding: 'utf8' });
    expect(out.trim()).toBe('function function');
    // The Moddable host's XS build has only Moddable's imports: no Node, and no second copy of the library.
    const host = readFileSync(root + 'dist/xs/moddable.js', 'utf8');
    expect(host).not.toMatch(/from\s+['"]node:/);
    expect(host).not.toMatch(/class Session|class Decoder/);
  });
});
