/**
 * The package as a user gets it: `npm pack` of this tree, installed into a fresh project in a temp
 * dir (dependencies from npm's cache, or the registry), then used there: `tsc --strict` compiles code
 * using the main API, the engine entry and the browser entry (test/package/consumer/), the compiled
 * code makes decisions with engine.wasm through both loaders and compiles envoy-filter.wasm, all
 * resolved through `exports`; the `vipwasm` bin runs; the browser entry bundles for a browser with
 * no `node:` module; and @arethetypeswrong/cli finds no problem (.attw.json: ESM-only profile).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const dir = mkdtempSync(join(tmpdir(), 'vipwasm-package-'));
const consumer = join(dir, 'consumer');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Children run on this test's Node (also for `#!/usr/bin/env node`), outside any npm run context. */
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
env['PATH'] = `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`;

function run(cmd: string, args: string[], cwd: string, timeout = 120_000): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout });
  if (r.error) throw r.error;
  return r;
}
function mustRun(cmd: string, args: string[], cwd: string, timeout?: number): string {
  const r = run(cmd, args, cwd, timeout);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * undici 8 (from @kubernetes/client-node 2) throws on import under Node < 22.19. The consumer here
 * does NOT pin undici 7: everything but the API-server source must work without it, and that
 * source must say what to do.
 */
function clientNodeLoads(): boolean {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  return major > 22 || (major === 22 && minor >= 19);
}

let tarball = '';
beforeAll(() => {
  for (const f of ['dist/host/index.js', 'build/engine.wasm', 'build/envoy-filter.wasm']) {
    if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run "npm run build" first`);
  }
  // --ignore-scripts: pack the built tree as it is (prepare would rebuild it under other suites' feet).
  const name = mustRun('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], root).trim().split('\n').at(-1)!;
  tarball = join(dir, name);
  mkdirSync(join(consumer, 'src'), { recursive: true });
  for (const f of ['main.ts', 'browser.ts']) cpSync(join(root, 'test/package/consumer', f), join(consumer, 'src', f));
  cpSync(join(root, 'test/package/consumer/web.yaml'), join(consumer, 'web.yaml'));
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({
    name: 'consumer', private: true, type: 'module',
    dependencies: { vipwasm: `file:${tarball}` },
    devDependencies: { '@types/node': pkg.devDependencies['@types/node'] },
  }, null, 2));
  // TypeScript's default lib for the target (it includes DOM, whose WebAssembly types the API uses).
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'], skipLibCheck: true, rootDir: 'src', outDir: 'dist' },
    include: ['src'],
  }, null, 2));
  mustRun('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], consumer, 150_000);
}, 180_000);

describe('the packed vipwasm package in a fresh project', () => {
  it('installs only what runs: the build toolchain (assemblyscript, binaryen) stays out', () => {
    const installed = JSON.parse(readFileSync(join(consumer, 'node_modules/vipwasm/package.json'), 'utf8')) as { version: string };
    expect(installed.version).toBe(pkg.version);
    expect(existsSync(join(consumer, 'node_modules/assemblyscript'))).toBe(false);
    expect(existsSync(join(consumer, 'node_modules/binaryen'))).toBe(false);
  });

  it('compiles the consumer under tsc --strict against the shipped declarations', () => {
    const r = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', consumer], consumer);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('runs it: the main API, the engine and browser entries and both wasm files through exports', () => {
    const out = JSON.parse(mustRun(process.execPath, ['dist/main.js'], consumer)) as Record<string, unknown>;
    expect(out['diagnostics']).toBe(0);
    expect(out['clusterIP']).toBe('10.96.0.10');
    const node = out['node'] as string[];
    expect(new Set(node)).toEqual(new Set(['198.18.1.1:8080', '198.18.1.2:8080']));
    expect(out['browser']).toEqual(node);
    expect(out['filterExports']).toEqual(expect.arrayContaining(['proxy_abi_version_0_2_1', 'proxy_on_request_headers', 'proxy_on_new_connection']));
    expect(out['apiError']).toMatch(clientNodeLoads()
      ? /^cannot load kubeconfig \/nonexistent\/kubeconfig: /
      : /^the API-server source needs Node >=22\.19(\.\d+)? for the undici of @kubernetes\/client-node, this is v20\.[\s\S]*"overrides": \{ "undici": "\^7\.16\.0" \}/);
  });

  it('runs the vipwasm bin', () => {
    const r = run(join(consumer, 'node_modules/.bin/vipwasm'), ['get', 'services', '-f', 'web.yaml'], consumer);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^web\s+ClusterIP\s+10\.96\.0\.10\s+<none>\s+80\/TCP$/m);
  });

  it('runs the vipwasm bin on an API server only where client-node loads, and says what it needs elsewhere', () => {
    const r = run(join(consumer, 'node_modules/.bin/vipwasm'), ['get', 'services', '--kubeconfig', '/nonexistent/kubeconfig'], consumer);
    expect(r.status).not.toBe(0);
    expect(r.stderr).not.toMatch(/TypeError|\n\s+at /);
    expect(r.stderr).toMatch(clientNodeLoads()
      ? /^error: cannot load kubeconfig \/nonexistent\/kubeconfig: /
      : /^error: the API-server source needs Node >=22\.19(\.\d+)? for the undici of @kubernetes\/client-node, this is v20\./);
  });

  it('bundles the browser entry for a browser, with no node: module in it', async () => {
    const result = await build({
      entryPoints: [join(consumer, 'src/browser.ts')], absWorkingDir: consumer, bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const text = result.outputFiles[0]!.text;
    expect(text).toContain('function loadEngineFromBytes');
    expect(text).not.toMatch(/["']node:/);
  });

  it('passes @arethetypeswrong/cli (ESM-only profile, the wasm files are assets)', () => {
    const r = run(process.execPath, [join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js'), tarball, '--no-color', '--no-emoji', '--no-summary'], root);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const entry of ['vipwasm', 'vipwasm/engine', 'vipwasm/browser']) {
      expect(r.stdout).toMatch(new RegExp(`│ "${entry}" +│ OK \\(ESM\\) +│ OK +│`));
    }
  });
});
