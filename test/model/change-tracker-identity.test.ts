/**
 * ServiceChangeTracker serializes only the service ports that are new objects (issue 10: the
 * forwarder runs every sync through it, and its ejection reloads pass untouched service ports
 * through as the same objects), and still reports exactly what changed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ServiceChangeTracker, isEmpty } from '../../host/model/index.js';
import type { ModelServicePort, ServiceModel } from '../../host/engine/model.js';
import { modelBackend, modelServicePort } from '../fixtures/service-model.js';

function model(n: number): ServiceModel {
  const servicePorts: ModelServicePort[] = [];
  for (let i = 0; i < n; i++) {
    servicePorts.push(modelServicePort({
      namespace: 'default', name: `svc-${String(i).padStart(3, '0')}`, clusterIPs: [`10.96.0.${i}`],
      backends: [modelBackend(`10.1.0.${i}`, 8080), modelBackend(`10.2.0.${i}`, 8080)],
    }));
  }
  return { nodeIPs: ['192.168.1.10'], servicePorts };
}

/** Calls of JSON.stringify on a service port made by `f`. */
function servicePortsSerialized(f: () => void): number {
  const spy = vi.spyOn(JSON, 'stringify');
  f();
  const n = spy.mock.calls.filter(([v]) => typeof v === 'object' && v !== null && 'backends' in v).length;
  spy.mockRestore();
  return n;
}

afterEach(() => vi.restoreAllMocks());

describe('ServiceChangeTracker fingerprints', () => {
  it('serializes only the service ports that are new objects', () => {
    const tracker = new ServiceChangeTracker();
    const first = model(200);
    expect(servicePortsSerialized(() => tracker.update(first))).toBe(200);
    // An ejection-style update: one service port rebuilt with a backend at weight 0, the rest as is.
    const ports = first.servicePorts.slice();
    const sp = ports[57]!;
    ports[57] = { ...sp, backends: sp.backends.map((b, k) => (k === 1 ? { ...b, weight: 0 } : b)) };
    let changes = tracker.update({ ...first, servicePorts: ports });
    expect(changes.updated).toEqual(['default/svc-057']);
    expect(changes.added.length + changes.removed.length).toBe(0);
    expect(servicePortsSerialized(() => (changes = tracker.update({ ...first, servicePorts: ports.slice() })))).toBe(0);
    expect(isEmpty(changes)).toBe(true);
  });

  it('compares fresh objects by content, as a rebuilt model gives them', () => {
    const tracker = new ServiceChangeTracker();
    tracker.update(model(50));
    let changes = tracker.update(model(50));
    expect(isEmpty(changes)).toBe(true);
    const next = model(50);
    const ports = next.servicePorts.slice();
    ports[3] = { ...ports[3]!, port: 8443 };
    ports.splice(10, 1);
    changes = tracker.update({ ...next, servicePorts: ports });
    expect(changes.updated).toEqual(['default/svc-003']);
    expect(changes.removed).toEqual(['default/svc-010']);
    // Back to the old content in a new object: an update again, not a no-op.
    changes = tracker.update(model(50));
    expect(changes.updated).toEqual(['default/svc-003']);
    expect(changes.added).toEqual(['default/svc-010']);
  });
});
