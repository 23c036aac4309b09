/** The envoy-config verb end to end: files written, exit codes for bad flags. */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../host/cli/main.js';
import { validateBootstrap } from '../../host/envoy/envoy-schema.js';
import { filterWasmPath } from '../../host/envoy/filter-wasm.js';

const dir = mkdtempSync(join(tmpdir(), 'vipwasm-envoy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const example = (n: string) => new URL(`../../examples/${n}.yaml`, import.meta.url).pathname;

describe('vipwasm envoy-config', () => {
  it('writes envoy.yaml next to a copy of the filter', async () => {
    const code = await main(['node', 'vipwasm', 'envoy-config', '-f', example('hostnames'), '-f', example('session-affinity'),
      '--service-cluster-ip-range', '127.96.0.0/16', '--node-ip', '127.0.0.1', '-o', dir, '--snapshot-url', 'http://127.0.0.1:9902/snapshot']);
    expect(code).toBe(0);
    const yaml = parse(readFileSync(join(dir, 'envoy.yaml'), 'utf8'));
    expect(validateBootstrap(yaml)).toEqual([]);
    expect(JSON.stringify(yaml)).toContain(`"filename":"${join(dir, 'envoy-filter.wasm')}"`);
    expect(statSync(join(dir, 'envoy-filter.wasm')).size).toBe(statSync(filterWasmPath()).size);
  });

  it.each([
    [['--protocol', 'udp'], '--protocol'],
    [['--admin', '10.0.0.1:9901'], 'admin address'],
    [['--poll-ms', '5'], '--poll-ms'],
    [['--header', 'Bad Header'], '--header'],
  ])('exits 2 for %j', async (flags, _what) => {
    const code = await main(['node', 'vipwasm', 'envoy-config', '-f', example('hostnames'), ...flags]);
    expect(code).toBe(2);
  });
});
