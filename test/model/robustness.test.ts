/** Any input shape gives diagnostics, never an exception: objects come straight from user YAML. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type KubeObject, buildServiceModel, formatDiagnostic } from '../../host/model/index.js';

describe('buildServiceModel on arbitrary input', () => {
  it('never throws, whatever the fields hold', () => {
    const kinds = fc.constantFrom('Service', 'EndpointSlice', 'Endpoints', 'Pod', 'Node', 'List', undefined, 42);
    const obj = fc.record({
      kind: kinds,
      metadata: fc.oneof(fc.record({ name: fc.oneof(fc.constantFrom('a', 'b', 'web'), fc.anything()), namespace: fc.anything(), labels: fc.anything(), annotations: fc.anything() }), fc.anything()),
      spec: fc.oneof(
        fc.record({
          type: fc.oneof(fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'), fc.anything()),
          ports: fc.oneof(fc.array(fc.record({ port: fc.oneof(fc.integer({ min: -1, max: 70000 }), fc.anything()), name: fc.anything(), targetPort: fc.anything(), nodePort: fc.anything(), protocol: fc.anything() })), fc.anything()),
          clusterIP: fc.oneof(fc.constantFrom('None', '10.96.0.1', ''), fc.anything()),
          selector: fc.anything(), externalIPs: fc.anything(), sessionAffinityConfig: fc.anything(), ipFamilies: fc.anything(),
        }),
        fc.anything(),
      ),
      status: fc.anything(), subsets: fc.anything(), endpoints: fc.anything(), ports: fc.anything(), items: fc.anything(), addressType: fc.anything(),
    });
    fc.assert(
      fc.property(fc.array(obj, { maxLength: 6 }), (objects) => {
        const r = buildServiceModel(objects as unknown as KubeObject[], {});
        for (const d of r.diagnostics) expect(typeof formatDiagnostic(d)).toBe('string');
      }),
      { numRuns: 400 },
    );
  });

  it('formats the issue’s example error exactly', () => {
    const r = buildServiceModel(
      [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { type: 'NodePort', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81, nodePort: 29999 }] } }],
      {},
    );
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      'Service "default/web": spec.ports[1].nodePort: Invalid value: 29999: provided port is not in the valid range. The range of valid ports is 30000-32767',
    ]);
    expect(r.model.servicePorts).toEqual([]);
  });
});
