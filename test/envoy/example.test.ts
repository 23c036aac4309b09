/** examples/envoy/envoy.yaml is what `vipwasm envoy-config` makes of examples/envoy/services.yaml (README step 2). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { encodeSnapshot } from '../../host/engine/snapshot.js';
import { buildEnvoyConfig, renderEnvoyYaml } from '../../host/envoy/envoy-config.js';
import { validateBootstrap } from '../../host/envoy/envoy-schema.js';
import { snapshotToBase64 } from '../../host/envoy/filter-config.js';
import { buildServiceModel } from '../../host/model/index.js';
import { loadManifests } from '../../host/sources/files.js';

const here = (p: string) => new URL(`../../examples/envoy/${p}`, import.meta.url).pathname;

describe('examples/envoy', () => {
  it('envoy.yaml matches a fresh `vipwasm envoy-config` run and passes the structure check', async () => {
    const { objects } = await loadManifests([here('services.yaml')]);
    const { model } = buildServiceModel(objects, { nodeName: 'node-a', nodeIPs: ['127.0.0.1'], serviceClusterIPRanges: ['127.96.0.0/16'] });
    const config = buildEnvoyConfig(model, {
      wasmPath: '/etc/envoy/envoy-filter.wasm',
      snapshotBase64: snapshotToBase64(encodeSnapshot(model)),
      snapshotUrl: 'http://127.0.0.1:9902/snapshot',
    });
    const committed = readFileSync(here('envoy.yaml'), 'utf8');
    expect(committed, 'examples/envoy/envoy.yaml is stale: regenerate it with step 1 of examples/envoy/README.md').toBe(renderEnvoyYaml(config));
    expect(validateBootstrap(parse(committed))).toEqual([]);
  });
});
