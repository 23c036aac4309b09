/**
 * TriggerTimes: which EndpointSlice changes become network-programming latency, following
 * kube-proxy's endpointschangetracker.go, and each reader (one per data plane) sees each time once.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../host/model/index.js';
import { TRIGGER_TIME_ANNOTATION, TriggerTimes } from '../../host/metrics/trigger-times.js';

const START = Date.parse('2026-12-07T10:00:00Z');
const at = (s: number) => new Date(START + s * 1000).toISOString();
const slice = (name: string, service: string, trigger?: string): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
  metadata: {
    name, namespace: 'default', labels: { 'kubernetes.io/service-name': service },
    ...(trigger ? { annotations: { [TRIGGER_TIME_ANNOTATION]: trigger } } : {}),
  },
  addressType: 'IPv4', endpoints: [],
});

describe('TriggerTimes', () => {
  it('records changed slices of changed Services triggered after it started, once per object version', () => {
    const t = new TriggerTimes(START);
    const reader = t.cursor();
    const before = slice('web-1', 'web', at(-5));
    t.observe([before], ['default/web:http']);
    const changed = slice('web-1', 'web', at(3));
    t.observe([changed], ['default/web:http']);
    t.observe([changed], ['default/web:http']); // the same object again: nothing new
    t.observe([changed, slice('db-1', 'db', at(4))], ['default/web:http']); // db served nothing new
    t.observe([slice('web-1', 'web', 'not a time'), slice('db-1', 'db', at(4))], ['default/web']);
    reader.mark();
    expect(reader.take()).toEqual([START + 3000]);
    expect(reader.take()).toEqual([]);
  });

  it('drops a Service pending times when its slice is deleted', () => {
    const t = new TriggerTimes(START);
    const reader = t.cursor();
    t.observe([slice('web-1', 'web', at(1)), slice('db-1', 'db', at(2))], ['default/web', 'default/db']);
    t.observe([slice('db-1', 'db', at(2))], ['default/web']);
    reader.mark();
    expect(reader.take()).toEqual([START + 2000]);
  });

  it('gives every reader every time once, and a failed sync leaves them for the next', () => {
    const t = new TriggerTimes(START);
    const [v4, v6] = [t.cursor(), t.cursor()];
    t.observe([slice('web-1', 'web', at(1))], ['default/web']);
    v4.mark();
    v6.mark();
    t.observe([slice('web-1', 'web', at(2))], ['default/web']); // arrived during the sync
    expect(v4.take()).toEqual([START + 1000]);
    // v6's sync failed: it never took. Its next sync observes both.
    v6.mark();
    expect(v6.take()).toEqual([START + 1000, START + 2000]);
    v4.mark();
    expect(v4.take()).toEqual([START + 2000]);
  });
});
