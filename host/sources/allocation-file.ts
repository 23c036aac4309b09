/**
 * A file-backed AllocationStore: `<stateDir>/allocations.json`, written atomically (temp file +
 * rename) so a crash never leaves half a file. Node-only.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AllocationState, type AllocationStore, emptyAllocationState, sanitizeAllocationState } from '../model/index.js';

export const ALLOCATIONS_FILE = 'allocations.json';

export class FileAllocationStore implements AllocationStore {
  readonly file: string;
  constructor(readonly stateDir: string) {
    this.file = join(stateDir, ALLOCATIONS_FILE);
  }

  load(): AllocationState {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyAllocationState();
      throw new Error(`cannot read allocation state ${this.file}: ${(e as Error).message}`);
    }
    try {
      return sanitizeAllocationState(JSON.parse(text));
    } catch (e) {
      throw new Error(`allocation state ${this.file} is not valid JSON (${(e as Error).message}); move it away to start afresh`);
    }
  }

  save(state: AllocationState): void {
    mkdirSync(this.stateDir, { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(tmp, this.file);
  }
}
