// What `npm pack` ships (npm pack --dry-run --json: the file list npm would publish), and that a
// TypeScript user of the package gets types for every export from it: one declarations tree, no XS
// test stand-ins, no second copy of src/'s declarations, the licence and the changelog.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

function packed(): string[] {
  if (!existsSync(root + 'dist/types/hosts/node/index.d.ts')) execFileSync(process.execPath, [root + 'tools/build.mjs'], { stdio: 'ignore' });
  // --ignore-scripts: not `prepare` (a build, which would replace dist/ under the other tests).
  const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return (JSON.parse(json) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path).sort();
}

function sources(dir: string): string[] {
  return readdirSync(root + dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : [],
  );
}

describe('npm pack', () => {
  const files = packed();

  it('ships the library, its declarations, the bin, the licence and the changelog, and nothing else', () => {
    const allowed = [
      /^(LICENSE|CHANGELOG\.md|README\.md|package\.json|manifest_mqtt\.json|manifest_tls\.json|manifest_mqttclient\.json|tools\/cli\/xs-mqtt\.mjs)$/,
      /^dist\/(index|codec|node|cli)\.js$/,
      /^dist\/xs\/(index|codec|moddable|tls|mqttclient)\.js$/,
      /^dist\/types\/(?!hosts\/).+\.d\.ts$/,
      /^dist\/types\/hosts\/(node\/index|moddable\/index|moddable\/tls|moddable\/ipv4)\.d\.ts$/,
      /^src\/.+\.ts$/,
    ];
    expect(files.filter((f) => !allowed.some((re) => re.test(f)))).toEqual([]);
    for (const f of ['LICENSE', 'CHANGELOG.md', 'README.md', 'package.json', 'tools/cli/xs-mqtt.mjs', 'dist/cli.js', 'manifest_mqtt.json', 'manifest_tls.json', 'manifest_mqttclient.json', 'dist/xs/mqttclient.js', 'dist/xs/tls.js']) expect(files).toContain(f);
    // No manifest.json: mcpack includes a package's manifest.json in every app, and SDK 8.2.3's mcpack
    // fails on one that includes the SDK's manifests ("'undefined/network/net/manifest.json': manifest
    // not found"). mcpack users get the preload from package.json's "moddable" (test/moddable.test.ts).
    expect(files).not.toContain('manifest.json');
    // The two trees the declaration build used to ship besides: src/ again, and the XS test stand-ins.
    expect(files.filter((f) => f.startsWith('dist/types/hosts/src/') || f.startsWith('dist/types/hosts/tools/'))).toEqual([]);
    expect(readFileSync(root + 'LICENSE', 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} xs-mqtt contributors\n/);
    expect(JSON.parse(readFileSync(root + 'package.json', 'utf8')).license).toBe('MIT');
  });

  it('every export, the bin and the library\'s manifest_mqtt.json point at packed files; every source has its declaration', () => {
    const pkg = JSON.parse(readFileSync(root + 'package.json', 'utf8'));
    const targets: string[] = [pkg.main, pkg.types, ...Object.values(pkg.bin as Record<string, string>)];
    for (const v of Object.values(pkg.exports) as Array<string | Record<string, string>>) targets.push(...(typeof v === 'string' ? [v] : Object.values(v)));
    for (const t of targets) expect(files, t).toContain(posix.normalize(t));
    for (const manifest of ['manifest_mqtt.json', 'manifest_mqttclient.json']) {
      const include = JSON.parse(readFileSync(root + manifest, 'utf8'));
      for (const m of Object.values(include.modules) as string[]) expect(files).toContain(posix.normalize(`${m}.js`));
    }
    for (const s of sources('src')) expect(files).toContain(s.replace(/^src\//, 'dist/types/').replace(/\.ts$/, '.d.ts'));
    // Every relative import of a declaration resolves to a packed declaration.
    for (const f of files.filter((p) => p.endsWith('.d.ts'))) {
      for (const m of readFileSync(root + f, 'utf8').matchAll(/from ['"](\.[^'"]+)['"]/g)) {
        expect(files, `${f} imports ${m[1]}`).toContain(posix.join(posix.dirname(f), m[1]).replace(/\.js$/, '.d.ts'));
      }
    }
  });

  it('a TypeScript program importing xs-mqtt, xs-mqtt/codec, xs-mqtt/node, xs-mqtt/moddable and xs-mqtt/tls type-checks against the packed declarations', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xs-mqtt-types-'));
    try {
      // The package as installed: only the packed files, under node_modules/xs-mqtt.
      const pkgDir = join(dir, 'node_modules/xs-mqtt');
      for (const f of files) {
        mkdirSync(dirname(join(pkgDir, f)), { recursive: true });
        writeFileSync(join(pkgDir, f), readFileSync(root + f));
      }
      symlinkSync(root + 'node_modules/@moddable', join(dir, 'node_modules/@moddable'));
      writeFileSync(
        join(dir, 'main.ts'),
        [
          "import { Client, type Message } from 'xs-mqtt';",
          "import { writePublish } from 'xs-mqtt/codec';",
          "import { NodeHost } from 'xs-mqtt/node';",
          "import type { ModdableHost, ModdableHostOptions } from 'xs-mqtt/moddable';",
          "import type { TLS } from 'xs-mqtt/tls';",
          "export const o: ModdableHostOptions = { TLS: null as unknown as typeof TLS };",
          "const c = new Client(new NodeHost(), { host: 'localhost', port: 1883, clientId: 'x' });",
          "c.subscribe('a/#', 1, (m: Message) => m.topic.length);",
          'export const f: typeof writePublish = writePublish;',
          'export type H = ModdableHost;',
          '',
        ].join('\n'),
      );
      execFileSync(
        process.execPath,
        [root + 'node_modules/typescript/bin/tsc', '--noEmit', '--strict', '--target', 'ES2022', '--module', 'ES2022', '--moduleResolution', 'bundler',
          '--customConditions', 'moddable', '--types', '@moddable/typings/xs', '--skipLibCheck', 'false', join(dir, 'main.ts')],
        { cwd: dir, encoding: 'utf8' },
      );
    } catch (err) {
      throw new Error(`tsc: ${(err as { stdout?: string }).stdout ?? (err as Error).message}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60000);
});
