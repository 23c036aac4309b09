/**
 * A trap in a callback kills the VM (every request on that worker would then fail), so hostile
 * input must never abort the filter: arbitrary :authority values and arbitrary plugin
 * configurations get an answer, never a trap.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProxyWasmHost } from '../../host/envoy/emulator/host.js';
import { filterModule } from '../../host/envoy/filter-wasm.js';
import { modelFrom, request, service, startFilter } from './fixtures.js';

const authorityChars = fc.constantFrom(...'abcdefw0123456789:.[]-_ %@/ABF'.split(''));

describe('hostile input', () => {
  it('answers every :authority without trapping', async () => {
    const vm = await startFilter(modelFrom(service({ name: 'web', clusterIP: '10.96.0.10', ips: ['10.1.0.1'] })));
    let i = 0;
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: authorityChars, maxLength: 60 }), fc.string({ maxLength: 400 }), fc.ipV6(), fc.ipV4()), (authority) => {
        const r = request(vm, authority, `10.0.0.1:${1 + (i++ % 60000)}`);
        expect(r.endpoint !== null || r.status === 404).toBe(true);
      }),
      { numRuns: 600, seed: 7 },
    );
    expect(request(vm, 'web').endpoint).toBe('10.1.0.1:8080');
  });

  it('answers true or false to every configuration without trapping', async () => {
    const module = await filterModule();
    const values = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
    const keys = fc.constantFrom('snapshot', 'clusterDomain', 'namespace', 'header', 'pollMs', 'seed', 'flowCapacity', 'sharedAffinity', 'x');
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 80 }), fc.dictionary(keys, values).map((o) => JSON.stringify(o))), async (text) => {
        const vm = await ProxyWasmHost.load(module, { pluginConfiguration: text });
        vm.startVm();
        expect(vm.configure()).toBe(false);
        expect(vm.getLogs(4).length).toBe(1);
      }),
      { numRuns: 150, seed: 11 },
    );
  });
});
