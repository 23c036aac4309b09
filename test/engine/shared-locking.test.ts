/**
 * Which exports of engine.shared.wasm take the engine lock (issue 14 part 2): host/engine/shared.ts
 * leaves the ones in LOCKS_ITSELF unwrapped, so each must really start with `enter()` in the engine
 * source; every other function export is wrapped. (Re-entrancy is tested with a worker thread in
 * shared-engine.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LOCKS_ITSELF, NEEDS_NO_LOCK, loadSharedEngine } from '../../host/engine/shared.js';

const SOURCES = ['index.ts', 'batch.ts'].map((f) => readFileSync(fileURLToPath(new URL(`../../engine/${f}`, import.meta.url)), 'utf8'));

/** The first statement of exported function `name` in the engine's export files, or undefined. */
function firstStatement(name: string): string | undefined {
  for (const src of SOURCES) {
    const m = new RegExp(`^export function ${name}\\([^)]*\\)[^{]*\\{\\s*([^;]*;)`, 'm').exec(src);
    if (m) return m[1];
  }
  return undefined;
}

interface LockExports {
  readonly memory: WebAssembly.Memory;
  lockEngine(): void;
  unlockEngine(): void;
  lockAcquisitions(): number;
  [name: string]: unknown;
}

describe('the shared engine lock', () => {
  it('is taken first thing by every export the host leaves unwrapped', () => {
    const missing = [...LOCKS_ITSELF].filter((name) => firstStatement(name) !== 'enter();');
    expect(missing, 'exports listed in LOCKS_ITSELF whose engine code does not start with enter()').toEqual([]);
  });

  it('wraps every other function export, and lists only exports that exist', async () => {
    const { engine } = await loadSharedEngine({ seed: 1, flowCapacity: 64, affinityCapacity: 16 }, 1);
    const raw = (engine as unknown as { ex: LockExports }).ex;
    const functions = Object.keys(raw).filter((k) => typeof raw[k] === 'function');
    for (const name of [...LOCKS_ITSELF, ...NEEDS_NO_LOCK]) expect(functions, `export ${name}`).toContain(name);
    // A wrapped export takes the lock once more than it would alone: count acquisitions around one.
    const wrapped = functions.filter((f) => !LOCKS_ITSELF.has(f) && !NEEDS_NO_LOCK.has(f));
    expect(wrapped).toContain('flowIndexDisplacement');
    const before = raw.lockAcquisitions();
    (raw['flowIndexDisplacement'] as () => number)();
    expect(raw.lockAcquisitions() - before).toBe(1);
  });
});
