/**
 * The DNS server with the real `dig` over UDP and TCP on loopback: answers per the specification,
 * NXDOMAIN vs NODATA with the SOA, case-insensitive names, truncation at the client's EDNS0 size
 * (and dig's TCP retry getting everything), forwarding to an upstream started here, REFUSED
 * without one, and live updates from the file source.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServingDns, serveDns } from '../../host/dns/serve.js';
import { MemoryAllocationStore } from '../../host/model/index.js';
import { FileSource } from '../../host/sources/files.js';
import { freePort } from '../../scripts/k8s/cluster.js';
import { ModelFeed } from '../../host/sources/model-feed.js';
import { HAVE_DIG, dig } from './dig.js';
import { type TestUpstream, startUpstream } from './upstream-server.js';

const HOST = '127.0.0.1';

function manifests(webIP: string, headlessPods: number): string {
  const pods = Array.from({ length: headlessPods }, (_, i) => `---
apiVersion: v1
kind: Pod
metadata: { name: big-${i}, namespace: default, labels: { app: big } }
spec: { hostname: big-${i}, subdomain: big, containers: [{ name: c, image: x, ports: [{ name: p, containerPort: 7000 }] }] }
status: { phase: Running, podIP: 10.244.${Math.floor(i / 200)}.${(i % 200) + 1}, conditions: [{ type: Ready, status: "True" }] }
`).join('');
  return `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { clusterIP: ${webIP}, ports: [{ name: http, port: 80 }] }
---
apiVersion: v1
kind: Service
metadata: { name: big, namespace: default }
spec: { clusterIP: None, selector: { app: big }, ports: [{ name: p, port: 7000, targetPort: p }] }
---
apiVersion: v1
kind: Service
metadata: { name: db, namespace: shop }
spec: { type: ExternalName, externalName: db.example.test }
${pods}`;
}

describe.skipIf(!HAVE_DIG)('cluster DNS with dig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipwasm-dns-'));
  const file = join(dir, 'objects.yaml');
  let feed: ModelFeed;
  let dns: ServingDns;
  let bare: ServingDns;
  let upstream: TestUpstream;
  let server: { host: string; port: number };

  beforeAll(async () => {
    writeFileSync(file, manifests('10.96.0.10', 60));
    upstream = await startUpstream(HOST, { 'db.example.test': '192.0.2.53', 'www.example.test': '192.0.2.80' });
    feed = new ModelFeed(new FileSource([file], { watch: true }), { allocationStore: new MemoryAllocationStore() });
    const first = await feed.start();
    const zone = { clusterDomain: 'cluster.local', ttl: 30, podRecords: 'insecure' as const };
    dns = await serveDns(feed, first.result, { host: HOST, port: 0, zone, upstreams: [{ host: upstream.host, port: upstream.port }], upstreamTimeoutMs: 2000 });
    bare = await serveDns(feed, first.result, { host: HOST, port: 0, zone, upstreams: [] });
    server = dns.address;
  });
  afterAll(async () => {
    await dns?.stop();
    await bare?.stop();
    await feed?.close();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a ClusterIP Service over UDP and over TCP, authoritatively', async () => {
    for (const transport of ['+notcp', '+tcp']) {
      const r = await dig(server, [transport, 'web.shop.svc.cluster.local', 'A']);
      expect(r.status).toBe('NOERROR');
      expect(r.flags).toContain('aa');
      expect(r.answer).toEqual(['web.shop.svc.cluster.local. 30 IN A 10.96.0.10']);
    }
  });

  it('matches names case-insensitively and answers in the case asked', async () => {
    const r = await dig(server, ['WEB.Shop.Svc.CLUSTER.local', 'A']);
    expect(r.answer).toEqual(['WEB.Shop.Svc.CLUSTER.local. 30 IN A 10.96.0.10']);
  });

  it('serves SRV with the target in the additional section, and PTR for the ClusterIP', async () => {
    const srv = await dig(server, ['_http._tcp.web.shop.svc.cluster.local', 'SRV']);
    expect(srv.answer).toEqual(['_http._tcp.web.shop.svc.cluster.local. 30 IN SRV 0 100 80 web.shop.svc.cluster.local.']);
    expect(srv.additional).toContain('web.shop.svc.cluster.local. 30 IN A 10.96.0.10');
    const ptr = await dig(server, ['-x', '10.96.0.10']);
    expect(ptr.answer).toEqual(['10.0.96.10.in-addr.arpa. 30 IN PTR web.shop.svc.cluster.local.']);
  });

  it('says NXDOMAIN for a missing Service and NODATA for a missing type, both with the SOA', async () => {
    const nx = await dig(server, ['nope.shop.svc.cluster.local', 'A']);
    expect(nx.status).toBe('NXDOMAIN');
    expect(nx.answer).toEqual([]);
    expect(nx.authority[0]).toMatch(/^cluster\.local\. 30 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 30$/);
    const nodata = await dig(server, ['web.shop.svc.cluster.local', 'AAAA']);
    expect(nodata.status).toBe('NOERROR');
    expect(nodata.answer).toEqual([]);
    expect(nodata.authority[0]).toMatch(/ IN SOA /);
    const version = await dig(server, ['dns-version.cluster.local', 'TXT']);
    expect(version.answer).toEqual(['dns-version.cluster.local. 28800 IN TXT "1.1.0"']);
  });

  it('sets TC when a headless answer exceeds the EDNS0 size over UDP, and TCP gets every record', async () => {
    const udp = await dig(server, ['+notcp', '+ignore', '+bufsize=512', 'big.default.svc.cluster.local', 'A']);
    expect(udp.flags).toContain('tc');
    expect(udp.answer.length).toBeGreaterThan(0);
    expect(udp.answer.length).toBeLessThan(60);
    const noEdns = await dig(server, ['+notcp', '+ignore', '+noedns', '_p._tcp.big.default.svc.cluster.local', 'SRV']);
    expect(noEdns.flags).toContain('tc');
    const retried = await dig(server, ['+bufsize=512', 'big.default.svc.cluster.local', 'A']); // dig retries over TCP on TC
    expect(retried.flags).not.toContain('tc');
    expect(retried.answer).toHaveLength(60);
    const tcp = await dig(server, ['+tcp', '_p._tcp.big.default.svc.cluster.local', 'SRV']);
    expect(tcp.answer).toHaveLength(60);
    expect(tcp.answer).toContain('_p._tcp.big.default.svc.cluster.local. 30 IN SRV 0 1 7000 big-7.big.default.svc.cluster.local.');
  });

  it('forwards names outside the zone to the upstream over UDP and TCP, and chases ExternalName targets there', async () => {
    for (const transport of ['+notcp', '+tcp']) {
      const r = await dig(server, [transport, 'www.example.test', 'A']);
      expect(r.status).toBe('NOERROR');
      expect(r.answer).toEqual(['www.example.test. 60 IN A 192.0.2.80']);
    }
    const missing = await dig(server, ['nothing.example.test', 'A']);
    expect(missing.status).toBe('NXDOMAIN');
    const ext = await dig(server, ['db.shop.svc.cluster.local', 'A']);
    expect(ext.answer).toEqual(['db.shop.svc.cluster.local. 30 IN CNAME db.example.test.', 'db.example.test. 60 IN A 192.0.2.53']);
    expect(upstream.asked).toEqual(expect.arrayContaining(['www.example.test A', 'db.example.test A']));
  });

  it('refuses names outside the zone without an upstream, and keeps answering its own', async () => {
    const r = await dig(bare.address, ['www.example.test', 'A']);
    expect(r.status).toBe('REFUSED');
    const ext = await dig(bare.address, ['db.shop.svc.cluster.local', 'A']);
    expect(ext.answer).toEqual(['db.shop.svc.cluster.local. 30 IN CNAME db.example.test.']);
    const unknownPtr = await dig(bare.address, ['-x', '192.0.2.1']);
    expect(unknownPtr.status).toBe('NXDOMAIN');
  });

  it('leaves itself out of its upstreams (no forwarding loop) and caps forwards in flight', async () => {
    const port = await freePort();
    const zone = { clusterDomain: 'cluster.local', ttl: 30, podRecords: 'insecure' as const };
    const looped = await serveDns(feed, feed.latest!.result, { host: HOST, port, zone, upstreams: [{ host: HOST, port }, { host: upstream.host, port: upstream.port }] });
    try {
      expect((await dig(looped.address, ['www.example.test', 'A'])).answer).toEqual(['www.example.test. 60 IN A 192.0.2.80']);
    } finally {
      await looped.stop();
    }
    const capped = await serveDns(feed, feed.latest!.result, { host: HOST, port: 0, zone, upstreams: [{ host: upstream.host, port: upstream.port }], maxForwards: 0 });
    try {
      expect((await dig(capped.address, ['www.example.test', 'A'])).status).toBe('SERVFAIL');
    } finally {
      await capped.stop();
    }
  });

  it('follows the model live: a changed ClusterIP and a new pod are answered without a restart', async () => {
    writeFileSync(file, manifests('10.96.0.99', 61));
    const deadline = Date.now() + 15_000;
    let r;
    do {
      r = await dig(server, ['web.shop.svc.cluster.local', 'A']);
      if (r.answer[0]?.endsWith('10.96.0.99')) break;
      await new Promise((res) => setTimeout(res, 100));
    } while (Date.now() < deadline);
    expect(r.answer).toEqual(['web.shop.svc.cluster.local. 30 IN A 10.96.0.99']);
    const pod = await dig(server, ['+tcp', 'big-60.big.default.svc.cluster.local', 'A']);
    expect(pod.answer).toEqual(['big-60.big.default.svc.cluster.local. 30 IN A 10.244.0.61']);
    const oldPtr = await dig(bare.address, ['-x', '10.96.0.10']);
    expect(oldPtr.status).toBe('NXDOMAIN');
  });
});
