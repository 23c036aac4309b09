/**
 * RefusedUpdates: an edit that makes an accepted object invalid is refused, as kube-apiserver
 * refuses it; the object keeps its last valid version, its errors are still reported, and its
 * allocated ClusterIP is not released. (The soak, bench/soak.ts, found a broken field dropping the
 * Service and its listener; issue 14.)
 */
import { describe, expect, it } from 'vitest';
import { type KubeObject, MemoryAllocationStore, parseManifestDocuments } from '../../host/model/index.js';
import { RefusedUpdates } from '../../host/sources/refused-updates.js';

const objects = (text: string): KubeObject[] => parseManifestDocuments('m.yaml', text).objects;
const web = (port: number | string, clusterIP = ''): string =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {${clusterIP ? `clusterIP: ${clusterIP}, ` : ''}ports: [{name: http, port: ${port}}]}\n`;
const other = `---\napiVersion: v1\nkind: Service\nmetadata: {name: other}\nspec: {ports: [{port: 53, protocol: UDP}]}\n`;

describe('RefusedUpdates', () => {
  it('keeps the last valid version of an object an edit made invalid, and says so', () => {
    const r = new RefusedUpdates({});
    expect(r.build(objects(web(80, '10.96.0.10'))).model.servicePorts.map((p) => p.port)).toEqual([80]);
    const refused = r.build(objects(web(99999, '10.96.0.10')));
    expect(refused.model.servicePorts.map((p) => p.port)).toEqual([80]);
    expect(refused.diagnostics.map((d) => `${d.severity} ${d.object} ${d.field}`)).toEqual([
      'error Service "default/web" spec.ports[0].port',
      'warning Service "default/web" ',
    ]);
    expect(refused.diagnostics[1]!.message).toBe('update refused: it does not validate; keeping the last valid version, as the API server would');
    const fixed = r.build(objects(web(8080, '10.96.0.10')));
    expect(fixed.model.servicePorts.map((p) => p.port)).toEqual([8080]);
    expect(fixed.diagnostics).toEqual([]);
  });

  it('leaves out an object that never validated, and one deleted before it came back broken', () => {
    const r = new RefusedUpdates({});
    expect(r.build(objects(web('bogus'))).model.servicePorts).toEqual([]);
    r.build(objects(web(80, '10.96.0.10')));
    r.build(objects(other.slice(4)));
    expect(r.build(objects(web(99999, '10.96.0.10') + other)).model.servicePorts.map((p) => p.name)).toEqual(['other']);
  });

  it('does not release the ClusterIP of a Service whose update it refused', () => {
    const store = new MemoryAllocationStore();
    const r = new RefusedUpdates({ allocationStore: store });
    const ip = r.build(objects(web(80) + other)).model.servicePorts.find((p) => p.name === 'web')!.clusterIPs[0];
    const savesBefore = store.saves;
    const refused = r.build(objects(web(99999) + other));
    expect(refused.model.servicePorts.find((p) => p.name === 'web')!.clusterIPs[0]).toBe(ip);
    expect(store.load().clusterIPs['default/web']).toEqual([ip]);
    expect(store.saves).toBe(savesBefore);
  });
});
