import { describe, expect, it } from 'vitest';
import { BackendEjections, nextBackend } from '../../host/forwarder/backend-ejection.js';
import { backend, model, servicePort } from './fixtures.js';

const sp = servicePort('web', {
  clusterIPs: ['10.96.0.10'],
  backends: [backend('10.0.0.1', 80), backend('10.0.0.2', 80), backend('10.0.0.3', 80, { external: false })],
});

describe('BackendEjections', () => {
  it('quiesces an ejected backend (weight 0) until the cool-down ends', () => {
    const e = new BackendEjections(1000);
    expect(e.eject('10.0.0.2:80', 0)).toBe(true);
    expect(e.eject('10.0.0.2:80', 10)).toBe(false);
    const applied = e.apply(model([sp]), 500);
    expect(applied.servicePorts[0]!.backends.map((b) => b.weight)).toEqual([1, 0, 1]);
    expect(e.apply(model([sp]), 2000).servicePorts[0]!.backends.map((b) => b.weight)).toEqual([1, 1, 1]);
    expect(e.expire(2000)).toBe(true);
    expect(e.size).toBe(0);
  });

  it('never ejects the last usable backend of a set', () => {
    const one = servicePort('one', { clusterIPs: ['10.96.0.11'], backends: [backend('10.0.0.9', 80)] });
    const e = new BackendEjections(1000);
    e.eject('10.0.0.9:80', 0);
    expect(e.apply(model([one]), 1).servicePorts[0]!.backends[0]!.weight).toBe(1);
  });

  it('does nothing when disabled', () => {
    const e = new BackendEjections(0);
    expect(e.eject('10.0.0.1:80', 0)).toBe(false);
    expect(e.isEjected('10.0.0.1:80', 0)).toBe(false);
  });
});

describe('nextBackend', () => {
  it('tries the next backend of the same set in engine order, skipping tried and ejected ones', () => {
    const e = new BackendEjections(1000);
    expect(nextBackend(sp, false, 0, new Set([0]), e, 0)).toBe(1);
    expect(nextBackend(sp, true, 1, new Set([1]), e, 0)).toBe(0); // 10.0.0.3 is not external
    e.eject('10.0.0.2:80', 0);
    expect(nextBackend(sp, false, 0, new Set([0]), e, 1)).toBe(2);
    expect(nextBackend(sp, false, 2, new Set([0, 2]), e, 1)).toBe(1); // only the ejected one left
    expect(nextBackend(sp, false, 0, new Set([0, 1, 2]), e, 1)).toBe(-1);
  });
});
