/**
 * Builds the playground into a temporary folder with the real build script (esbuild, the real
 * examples and build/engine.wasm) and serves it with the real `vipwasm playground` server.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { servePlayground, type PlaygroundServer } from '../../../host/cli/commands/playground.js';

export const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
export const engineWasmPath = join(repoRoot, 'build', 'engine.wasm');

/** build/engine.wasm, building it once when a fresh checkout lacks it. */
export function ensureEngineWasm(): string {
  if (!existsSync(engineWasmPath)) execFileSync('npm', ['run', '-s', 'build:wasm'], { cwd: repoRoot, stdio: 'inherit' });
  return engineWasmPath;
}

export interface ServedPlayground extends PlaygroundServer {
  readonly dir: string;
}

export async function buildAndServePlayground(): Promise<ServedPlayground> {
  ensureEngineWasm();
  const dir = mkdtempSync(join(tmpdir(), 'vipwasm-playground-'));
  execFileSync(process.execPath, [join(repoRoot, 'host', 'browser', 'build.mjs'), '--out', dir], { cwd: repoRoot, stdio: 'pipe' });
  const served = await servePlayground(dir, 0);
  return {
    ...served,
    dir,
    close: async () => {
      await served.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
