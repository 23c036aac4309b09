/**
 * Reproducible builds: compiling the engine again from the same sources gives byte-identical
 * engine.wasm. One fresh compile (into a temporary file) is compared with build/engine.wasm from
 * `npm run build`; a mismatch means the build is not reproducible or build/ is stale.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { engineWasmPath } from '../../host/engine/node.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('engine.wasm', () => {
  it('rebuilds byte for byte from the same sources', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vipwasm-build-'));
    try {
      const out = join(dir, 'engine.wasm');
      execFileSync(process.execPath, [join(root, 'node_modules/assemblyscript/bin/asc.js'), 'engine/index.ts', '--config', 'asconfig.json',
        '--target', 'release', '--outFile', out], { cwd: root, stdio: 'pipe' });
      const fresh = readFileSync(out);
      const built = readFileSync(engineWasmPath());
      expect(fresh.length).toBe(built.length);
      expect(fresh.equals(built)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('imports nothing but WASI', () => {
    const module = new WebAssembly.Module(readFileSync(engineWasmPath()));
    const imports = WebAssembly.Module.imports(module);
    expect(imports.every((i) => i.module === 'wasi_snapshot_preview1')).toBe(true);
    expect(WebAssembly.Module.exports(module).map((e) => e.name)).toContain('_initialize');
  });
});
