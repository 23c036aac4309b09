/**
 * Dual-stack Services end to end with IPv6 in a real kernel (netns/topology.ts: every link has an
 * IPv4 and a ULA IPv6 address, nothing leaves the namespaces): the model allocates and categorises
 * per family, the iptables (ip6tables) and nftables (`ip6 kube-proxy`) rules installed per family
 * carry IPv6 ClusterIP, NodePort and UDP traffic, a family without endpoints rejects while the
 * other serves, and the forwarder (`vipwasm forward --bind-vips` in the node namespace) proxies
 * IPv6 as well. Skips with a printed reason when not root or the tools are missing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServiceModel, type KubeObject } from '../../host/model/index.js';
import { createApplier, type RuleApplier } from '../../host/rules/apply/index.js';
import type { ServiceModel } from '../../host/engine/model.js';
import {
  BACKEND_PORT, BACKENDS, NODE_IP, NODE_IP6, POD_CIDR, POD_CIDR6, Topology, backendsOf, netnsUnavailableReason, seenSources, type Outcome,
} from './netns/topology.js';

const skipReason = netnsUnavailableReason();
if (skipReason) console.warn(`[netns-dual-stack] skipped: ${skipReason}`);

const root = resolve(import.meta.dirname, '../..');
const SERVICE_RANGES = ['198.19.0.0/16', 'fd00:198:19::/112'];
const VIP = { dual4: '198.19.0.40', dual6: 'fd00:198:19::40', udp6: 'fd00:198:19::41', half4: '198.19.0.42', half6: 'fd00:198:19::42' } as const;
const NODE_PORT = 30090;

type Family = 'IPv4' | 'IPv6';

function slice(service: string, family: Family, protocol = 'TCP'): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `${service}-${family.toLowerCase()}`, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: family,
    ports: [{ name: 'p', port: BACKEND_PORT, protocol }],
    endpoints: BACKENDS.map((b) => ({ addresses: [family === 'IPv4' ? b.ip : b.ip6], conditions: { ready: true }, nodeName: 'node-b' })),
  };
}

function service(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec };
}

/** The Services under test, as a manifest would hold them. */
function objects(): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, status: { addresses: [{ type: 'InternalIP', address: NODE_IP }, { type: 'InternalIP', address: NODE_IP6 }] } },
    // RequireDualStack NodePort: one ClusterIP per family, endpoints of both families.
    service('dual', {
      type: 'NodePort', ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'], clusterIP: VIP.dual4, clusterIPs: [VIP.dual4, VIP.dual6],
      ports: [{ name: 'p', port: 80, targetPort: BACKEND_PORT, nodePort: NODE_PORT }],
    }),
    slice('dual', 'IPv4'),
    slice('dual', 'IPv6'),
    // SingleStack IPv6, UDP.
    service('udp6', { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'], clusterIP: VIP.udp6, clusterIPs: [VIP.udp6], ports: [{ name: 'p', port: 53, targetPort: BACKEND_PORT, protocol: 'UDP' }] }),
    slice('udp6', 'IPv6', 'UDP'),
    // PreferDualStack with IPv4 endpoints only: IPv6 clients are rejected, IPv4 ones served.
    service('half', { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'], clusterIP: VIP.half4, clusterIPs: [VIP.half4, VIP.half6], ports: [{ name: 'p', port: 80, targetPort: BACKEND_PORT }] }),
    slice('half', 'IPv4'),
  ];
}

function modelOf(objs: KubeObject[]): ServiceModel {
  const result = buildServiceModel(objs, { nodeName: 'node-a', serviceClusterIPRanges: SERVICE_RANGES });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`test manifests invalid: ${JSON.stringify(errors)}`);
  return result.model;
}

/** The set of backends that answered; throws on a failed connection. */
const backendSet = (outcomes: Outcome[]): Set<string> => new Set(backendsOf(outcomes));
/** The source address a backend saw, from "<backend> <address>". */
const seen = (o: Outcome): string => seenSources([o])[0]!;

describe.skipIf(skipReason !== undefined)('dual-stack Services with IPv6 in a real kernel', () => {
  const net = new Topology();
  const model = modelOf(objects());

  beforeAll(async () => {
    await net.create();
  }, 60_000);

  afterAll(async () => {
    await net.destroy();
  });

  it('the model gives each family its ClusterIP, NodePort addresses and endpoints', () => {
    const dual = model.servicePorts.find((sp) => sp.name === 'dual')!;
    expect(dual.clusterIPs).toEqual([VIP.dual4, VIP.dual6]);
    expect(model.nodeIPs).toEqual([NODE_IP, NODE_IP6]);
    expect(dual.backends.map((b) => b.ip)).toEqual([...BACKENDS.map((b) => b.ip), ...BACKENDS.map((b) => b.ip6)]);
  });

  describe.each(['iptables', 'nftables'] as const)('%s mode, one ruleset per family', (mode) => {
    const appliers: RuleApplier[] = [];

    beforeAll(async () => {
      await net.flushConntrack();
      for (const family of [4, 6] as const) {
        const applier = createApplier(mode, { runner: net.nodeRunner, canaryCheckIntervalMs: 0, rules: { family, clusterCIDRs: [POD_CIDR, POD_CIDR6] } });
        appliers.push(applier);
        await applier.sync(model);
      }
    });

    afterAll(async () => {
      for (const a of appliers.splice(0)) await a.cleanup();
    });

    it('carries IPv6 ClusterIP traffic to every backend, masqueraded from outside the pod network', async () => {
      const outcomes = await net.request(VIP.dual6, 80, 30);
      expect(backendSet(outcomes)).toEqual(new Set(['b1', 'b2', 'b3']));
      // The client is outside POD_CIDR6: kube-proxy masquerades to the node's address on the backend's link.
      for (const o of outcomes) {
        const b = BACKENDS.find((x) => x.name === o.ok!.split(' ')[0])!;
        expect(seen(o)).toBe(b.gateway6);
      }
    });

    it('serves the NodePort on the node IPv6 address and the IPv4 ClusterIP of the same Service', async () => {
      expect(backendSet(await net.request(NODE_IP6, NODE_PORT, 30))).toEqual(new Set(['b1', 'b2', 'b3']));
      expect(backendSet(await net.request(VIP.dual4, 80, 30))).toEqual(new Set(['b1', 'b2', 'b3']));
    });

    it('answers IPv6 UDP through a SingleStack IPv6 Service', async () => {
      const replies = await net.udp(VIP.udp6, 53, 40053, 3);
      expect(replies).toHaveLength(3);
      // One conntrack flow: every datagram of it reaches the same backend.
      expect(new Set(replies.map((r) => r.split(' ')[0])).size).toBe(1);
      expect(['b1', 'b2', 'b3']).toContain(replies[0]!.split(' ')[0]);
    });

    it('rejects the family without endpoints and serves the other (per-family categorisation)', async () => {
      const [v6] = await net.request(VIP.half6, 80, 1);
      expect(v6!.error).toBe('ECONNREFUSED');
      expect(backendSet(await net.request(VIP.half4, 80, 10)).size).toBeGreaterThan(0);
    });

    it('drops IPv6 endpoints on update, and IPv6 clients are refused while IPv4 ones are still served', async () => {
      const v4only = objects().filter((o) => o.metadata?.name !== 'dual-ipv6');
      for (const a of appliers) await a.sync(modelOf(v4only));
      const [v6] = await net.request(VIP.dual6, 80, 1);
      expect(v6!.error).toBe('ECONNREFUSED');
      expect(backendSet(await net.request(VIP.dual4, 80, 10)).size).toBeGreaterThan(0);
      for (const a of appliers) await a.sync(model);
      expect(backendSet(await net.request(VIP.dual6, 80, 10)).size).toBeGreaterThan(0);
    });
  });

  describe('the forwarder', () => {
    let dir = '';
    let forwarder: ChildProcess | undefined;
    let log = '';

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vipwasm-dual-'));
      writeFileSync(join(dir, 'services.yaml'), objects().map((o) => stringify(o)).join('---\n'));
      forwarder = spawn('ip', [
        'netns', 'exec', net.node, process.execPath, '--import', 'tsx', join(root, 'test/e2e/forwarder/cli-entry.ts'), 'forward', '-f', dir,
        '--service-cluster-ip-range', SERVICE_RANGES.join(','), '--node-name', 'node-a', '--bind-vips', 'vw6dual0',
        '--metrics-bind-address', 'off', '--healthz-bind-address', 'off', '--log-level', 'warn',
      ], { stdio: ['ignore', 'ignore', 'pipe'] });
      forwarder.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
      const deadline = performance.now() + 30_000;
      for (;;) {
        const [o] = await net.request(VIP.dual6, 80, 1, 500);
        if (o!.ok) break;
        if (performance.now() > deadline || forwarder.exitCode !== null) throw new Error(`forwarder not serving ${VIP.dual6}: ${o!.error}; log: ${log}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }, 60_000);

    afterAll(async () => {
      if (forwarder && forwarder.exitCode === null) {
        const exited = new Promise((r) => forwarder!.once('exit', r));
        forwarder.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it('proxies IPv6 ClusterIP and NodePort connections to IPv6 backends, and IPv4 beside them', async () => {
      const v6 = await net.request(VIP.dual6, 80, 30);
      expect(backendSet(v6)).toEqual(new Set(['b1', 'b2', 'b3']));
      // A userspace proxy connects from the node: backends see the node's own IPv6 address on their link.
      for (const o of v6) expect(seen(o)).toBe(BACKENDS.find((b) => b.name === o.ok!.split(' ')[0])!.gateway6);
      expect(backendSet(await net.request(NODE_IP6, NODE_PORT, 10)).size).toBeGreaterThan(0);
      expect(backendSet(await net.request(VIP.dual4, 80, 10)).size).toBeGreaterThan(0);
    });

    it('answers IPv6 UDP and refuses the family without endpoints', async () => {
      const replies = await net.udp(VIP.udp6, 53, 40054, 2);
      expect(replies.every((r) => /^b[123] /.test(r))).toBe(true);
      // A userspace proxy has accepted before it decides: its reject is a reset (host/forwarder/README.md).
      const [half6] = await net.request(VIP.half6, 80, 1);
      expect(half6!.error).toBe('ECONNRESET');
      expect(backendSet(await net.request(VIP.half4, 80, 5)).size).toBeGreaterThan(0);
    });
  });
});
