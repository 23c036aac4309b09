/** The renderers' per-port memo: reused by object or by equal content, never for changed ports. */
import { describe, expect, it } from 'vitest';
import { PortRenderCache, sameContent } from '../../host/rules/port-cache.js';
import { backend, servicePort } from './fixtures.js';

describe('PortRenderCache', () => {
  const sp = () => servicePort('ns1', 'svc1', { clusterIPs: ['172.30.0.41'], backends: [backend('10.180.0.1', 80), backend('10.180.0.2', 80)] });

  it('reuses the rendering of the same object and of an equal copy, re-renders a changed one', () => {
    const cache = new PortRenderCache<{ n: number }>();
    let renders = 0;
    const render = () => ({ n: ++renders });
    const a = sp();
    const first = cache.get(a, 'ctx', render);
    expect(cache.get(a, 'ctx', render)).toBe(first);
    cache.endRender();
    expect(cache.get(structuredClone(a), 'ctx', render)).toBe(first);
    cache.endRender();
    const changed = { ...a, backends: [a.backends[0]!, { ...a.backends[1]!, ready: false }] };
    expect(cache.get(changed, 'ctx', render)).not.toBe(first);
    expect(renders).toBe(2);
  });

  it('re-renders under another context and forgets what the last render did not use', () => {
    const cache = new PortRenderCache<{ n: number }>();
    let renders = 0;
    const render = () => ({ n: ++renders });
    const a = sp();
    cache.get(a, 'ctx', render);
    cache.endRender();
    cache.get(structuredClone(a), 'other', render);
    expect(renders).toBe(2);
    cache.endRender();
    cache.endRender(); // a render without this port
    cache.get(structuredClone(a), 'other', render);
    expect(renders).toBe(3);
  });

  it('sameContent compares structure, not identity', () => {
    expect(sameContent({ a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] })).toBe(true);
    expect(sameContent({ a: [1, { b: 'x' }] }, { a: [1, { b: 'y' }] })).toBe(false);
    expect(sameContent({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameContent([1], { 0: 1 })).toBe(false);
  });
});
