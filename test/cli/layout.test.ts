import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const HOST = join(import.meta.dirname, '..', '..', 'host');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('host/ layout', () => {
  it('only host/cli imports from host/cli: the CLI depends on the library, never the reverse', () => {
    const offenders = sources(HOST)
      .filter((file) => !relative(HOST, file).startsWith('cli/'))
      .filter((file) => /from '(\.\.\/)+cli\//.test(readFileSync(file, 'utf8')))
      .map((file) => relative(HOST, file));
    expect(offenders).toEqual([]);
  });
});
