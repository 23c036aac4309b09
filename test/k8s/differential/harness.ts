/**
 * The differential harness: one real control plane, the real kube-proxy in one network namespace and
 * `vipwasm rules --watch` in a twin (same node name, node IPv4 and IPv6, Node objects with zone labels,
 * cluster CIDRs), scenarios applied in rounds, then both rulesets dumped, normalized and compared per
 * scenario. A marker Service and EndpointSlice, rewritten last in every round, tells when both proxies
 * have synced everything before it (each informer delivers its kind in order).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../../../scripts/k8s/cluster.js';
import {
  deleteNetns, inNetnsOutput, makeNetns, type ProxyMode, type ProxyRun, type ProxySettings, relayKubeconfig, startKubeProxy, startVipwasm, stopProcess, until,
} from '../../../scripts/k8s/proxies.js';
import { ApiClient, pool } from './api.js';
import { compareDumps, type Comparison, type Dump, normalizeIptables, normalizeNftables } from './dump.js';
import { loadBalancerStatus, namespaceOf, nodes, podsOf, podStatus, serviceOf, slicesOf } from './manifests.js';
import { NODE_IPS, type Scenario, THIS_NODE, THIS_ZONE } from './scenarios.js';

const SERVICE_CIDR = '10.96.0.0/12,fd00:10:96::/108';
const CLUSTER_CIDR = '198.19.0.0/16,fd00:19::/48';
const MARKER_NS = 'dt-marker';

/** Proxy flags a suite varies: both proxies get the same. */
export type ProxyOptions = Pick<ProxySettings, 'masqueradeAll' | 'nodePortAddresses'>;

export interface RoundResult {
  readonly comparison: Comparison;
  /** Scenario namespaces compared (live and deleted). */
  readonly compared: readonly string[];
  readonly matched: readonly string[];
}

export class Differential {
  private readonly runs: ProxyRun[] = [];
  private readonly relays: ChildProcess[] = [];
  private readonly netns: string[] = [];
  private api!: ApiClient;
  private round = 0;
  private markerClusterIPs: string[] = [];

  private constructor(
    readonly mode: ProxyMode,
    private readonly dir: string,
    readonly cluster: Cluster,
    private readonly options: ProxyOptions,
  ) {}

  /** `options`: the flags both proxies get besides the harness's own (kube-proxy's defaults when empty). */
  static async start(mode: ProxyMode, options: ProxyOptions = {}): Promise<Differential> {
    const dir = mkdtempSync(join(tmpdir(), `vipwasm-diff-${mode}-`));
    const cluster = await Cluster.start({ dir: join(dir, 'cluster') });
    const d = new Differential(mode, dir, cluster, options);
    try {
      await d.boot();
    } catch (err) {
      await d.stop();
      throw err;
    }
    return d;
  }

  private async boot(): Promise<void> {
    this.api = new ApiClient(this.cluster);
    await this.cluster.kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...nodes(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: MARKER_NS } }] }));
    for (const which of ['kp', 'vw'] as const) {
      const name = `vw-diff-${process.pid}-${this.mode.slice(0, 3)}${Object.keys(this.options).length ? '-opt' : ''}-${which}`;
      await makeNetns(name, NODE_IPS[0], NODE_IPS.slice(1));
      this.netns.push(name);
      const relay = await relayKubeconfig(this.cluster, this.dir, name);
      this.relays.push(...relay.relays);
      const settings = {
        mode: this.mode, nodeName: THIS_NODE, nodeIP: NODE_IPS[0], extraNodeIPs: NODE_IPS.slice(1), clusterCIDR: CLUSTER_CIDR,
        serviceCIDR: SERVICE_CIDR, minSyncPeriod: '1s', metricsBindAddress: '127.0.0.1:10249', ...this.options,
      };
      this.runs.push(which === 'kp' ? startKubeProxy(relay.kubeconfig, this.dir, name, settings) : startVipwasm(relay.kubeconfig, name, settings));
    }
    await this.retellTopology();
  }

  /**
   * kube-proxy (v1.37, cmd/kube-proxy/app/server.go) adds its Node topology handler to a node informer
   * that is already running, and registers the proxier on it one statement later: when the informer's
   * replay of this Node wins that race, the handler stores the zone with nobody to tell, and every
   * later event with the same labels is skipped (pkg/proxy/config NodeTopologyConfig.handleNodeEvent),
   * so kube-proxy ignores topology hints for its whole life. Seen twice in CI, on a loaded machine.
   * Once kube-proxy runs its sync loop (its rules exist; the proxier is registered by then), the
   * zone label is changed and changed back: two real changes every handler hears, ending as before.
   */
  private async retellTopology(): Promise<void> {
    await until('kube-proxy running its sync loop', async () => {
      const [ip4] = await this.rawDumps(this.netns[0]!);
      return this.mode === 'iptables' ? ip4.includes(':KUBE-SERVICES') : ip4.includes('"chain"');
    }, 120_000);
    for (const zone of [`${THIS_ZONE}-relabel`, THIS_ZONE]) {
      await this.api.call('PATCH', `/api/v1/nodes/${THIS_NODE}`, { metadata: { labels: { 'topology.kubernetes.io/zone': zone } } });
    }
  }

  /** Applies the round's scenarios (and deletes), patches statuses, then rewrites the marker. */
  async applyRound(live: readonly Scenario[], previous: ReadonlyMap<number, Scenario>, deleted: readonly Scenario[]): Promise<void> {
    this.round++;
    // Pods cannot change their container ports in place: a pod-backed update replaces its pods.
    const replaced = live.filter((s) => s.backing === 'pods' && previous.has(s.index));
    await pool(replaced.map((s) => previous.get(s.index)!), 8, (s) => this.deleteObjects(s, false));
    await pool(deleted, 8, (s) => this.deleteObjects(s, true));
    // The ServiceAccount admission plugin refuses a Pod until the controller has made its
    // namespace's `default` account: new namespaces first, pods once their accounts exist.
    const fresh = live.filter((s) => !previous.has(s.index));
    if (fresh.length) await this.cluster.apply(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: fresh.map(namespaceOf) }));
    await this.waitForServiceAccounts(fresh.filter((s) => s.backing === 'pods').map((s) => s.namespace));
    const items = live.flatMap((s) => [namespaceOf(s), serviceOf(s), ...slicesOf(s), ...podsOf(s)]);
    if (items.length) await this.cluster.apply(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    await pool(live.filter((s) => s.type === 'LoadBalancer'), 8, (s) =>
      this.api.call('PATCH', `/api/v1/namespaces/${s.namespace}/services/svc/status`, { status: loadBalancerStatus(s) }),
    );
    const pods = live.flatMap((s) => podsOf(s).map((_, j) => ({ s, j })));
    await pool(pods, 8, ({ s, j }) => this.patchPod(s, j));
    await this.waitForControllerSlices(live.filter((s) => s.backing === 'pods'));
    await this.writeMarker();
  }

  private async waitForServiceAccounts(namespaces: readonly string[]): Promise<void> {
    if (!namespaces.length) return;
    await until('ServiceAccount default in each new namespace', async () => {
      const list = (await this.api.call('GET', '/api/v1/serviceaccounts?fieldSelector=metadata.name%3Ddefault')) as { items: { metadata: { namespace: string } }[] };
      const have = new Set(list.items.map((a) => a.metadata.namespace));
      return namespaces.every((ns) => have.has(ns));
    }, 60_000);
  }

  /** Deletes a scenario's pods and EndpointSlices (pods at once: no kubelet would ever finish them), and its Service when it leaves. */
  private async deleteObjects(s: Scenario, withService: boolean): Promise<void> {
    const ns = `/api/v1/namespaces/${s.namespace}`;
    const name = (o: Record<string, unknown>) => (o['metadata'] as { name: string }).name;
    await Promise.all([
      ...podsOf(s).map((p) => this.api.call('DELETE', `${ns}/pods/${name(p)}?gracePeriodSeconds=0`)),
      ...slicesOf(s).map((p) => this.api.call('DELETE', `/apis/discovery.k8s.io/v1/namespaces/${s.namespace}/endpointslices/${name(p)}`)),
      ...(withService ? [this.api.call('DELETE', `${ns}/services/svc`)] : []),
    ]);
  }

  private async patchPod(s: Scenario, j: number): Promise<void> {
    const { ips, ready } = podStatus(s, j);
    const now = new Date().toISOString();
    const cond = (type: string) => ({ type, status: ready ? 'True' : 'False', lastTransitionTime: now });
    await this.api.call('PATCH', `/api/v1/namespaces/${s.namespace}/pods/pod-${j}/status`, {
      status: { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })), conditions: [cond('Ready'), cond('ContainersReady')] },
    });
  }

  /** Waits until the EndpointSlice controller has written every pod-backed scenario's endpoints. */
  private async waitForControllerSlices(scenarios: readonly Scenario[]): Promise<void> {
    if (!scenarios.length) return;
    await until('EndpointSlice controller', async () => {
      const list = (await this.api.call('GET', '/apis/discovery.k8s.io/v1/endpointslices?labelSelector=endpointslice.kubernetes.io%2Fmanaged-by%3Dendpointslice-controller.k8s.io')) as {
        items: { metadata: { namespace: string }; endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[];
      };
      const seen = new Map<string, string[]>();
      for (const sl of list.items) {
        const l = seen.get(sl.metadata.namespace) ?? [];
        seen.set(sl.metadata.namespace, l);
        for (const e of sl.endpoints ?? []) l.push(`${e.addresses[0]}=${e.conditions?.ready === true}`);
      }
      return scenarios.every((s) => {
        const want = s.endpoints.flatMap((_, j) => podStatus(s, j).ips.map((ip) => `${ip}=${podStatus(s, j).ready}`)).sort().join(',');
        return (seen.get(s.namespace) ?? []).sort().join(',') === want;
      });
    }, 60_000);
  }

  /** The marker (dual-stack): its Service port and endpoint addresses change every round. */
  private async writeMarker(): Promise<void> {
    const port = 1000 + this.round;
    const slice = (family: 'IPv4' | 'IPv6', ip: string) => ({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `svc-${family.toLowerCase()}`, namespace: MARKER_NS, labels: { 'kubernetes.io/service-name': 'svc', 'endpointslice.kubernetes.io/managed-by': 'differential.vipwasm.io' } },
      addressType: family, ports: [{ name: 'p80', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: [ip], conditions: { ready: true }, nodeName: 'dt-other' }],
    });
    await this.cluster.apply(JSON.stringify({
      apiVersion: 'v1', kind: 'List', items: [
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: MARKER_NS }, spec: { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'], ports: [{ name: 'p80', port, targetPort: 8080 }] } },
        slice('IPv4', this.markerEndpoints()[0]),
        slice('IPv6', this.markerEndpoints()[1]),
      ],
    }));
    if (!this.markerClusterIPs.length) {
      const svc = (await this.api.call('GET', `/api/v1/namespaces/${MARKER_NS}/services/svc`)) as { spec: { clusterIPs: string[] } };
      this.markerClusterIPs = svc.spec.clusterIPs;
    }
  }

  private markerEndpoints(): [string, string] {
    return [`198.19.255.${this.round}`, `fd00:19:0:ffff::${this.round.toString(16)}`];
  }

  /** Raw dumps of one namespace: iptables-save / ip6tables-save, or the nft tables as JSON. */
  private async rawDumps(netns: string): Promise<[string, string]> {
    if (this.mode === 'iptables') {
      return Promise.all([inNetnsOutput(netns, ['iptables-save']), inNetnsOutput(netns, ['ip6tables-save'])]);
    }
    const table = (family: string) => inNetnsOutput(netns, ['nft', '-j', 'list', 'table', family, 'kube-proxy']).catch(() => '{"nftables":[]}');
    return Promise.all([table('ip'), table('ip6')]);
  }

  /** Whether a family's dump shows this round's marker: its ClusterIP with this round's port, and this round's endpoint. */
  private markerSynced(raw: string, family: 0 | 1): boolean {
    const port = 1000 + this.round;
    const ep = this.markerEndpoints()[family];
    const clusterIP = this.markerClusterIPs[family]!;
    if (this.mode === 'iptables') {
      const dest = family === 0 ? `${ep}:8080` : `[${ep}]:8080`;
      const service = new RegExp(`-d ${clusterIP.replace(/[.]/g, '\\.')}/${family === 0 ? 32 : 128} .*--dport ${port} `);
      return raw.includes(`--to-destination ${dest}`) && service.test(raw);
    }
    const flat = raw.replace(/\s+/g, '');
    return flat.includes(`"${ep}"`) && flat.includes(`"${clusterIP}","tcp",${port}`);
  }

  private normalize(raw: [string, string]): Dump {
    const n = this.mode === 'iptables' ? normalizeIptables : normalizeNftables;
    return new Map([...n(raw[0], 'ip4'), ...n(raw[1], 'ip6')]);
  }

  /** Waits for both proxies to show this round's marker, then compares (again for up to 30 s while they differ). */
  async compare(namespaces: readonly string[]): Promise<RoundResult> {
    const raws = await Promise.all(this.netns.map(async (ns, i) => {
      let raw: [string, string] = ['', ''];
      await until(`${this.runs[i]!.name} synced round ${this.round}`, async () => {
        raw = await this.rawDumps(ns);
        return this.markerSynced(raw[0], 0) && this.markerSynced(raw[1], 1);
      }, 120_000).catch((err: Error) => {
        throw new Error(`${err.message}; its log: ${this.runs[i]!.log().slice(-800)}`);
      });
      return raw;
    }));
    let comparison = compareDumps(this.normalize(raws[0]!), this.normalize(raws[1]!));
    // Both follow the API asynchronously, and a proxy may apply a late event (a Node's topology
    // labels, say) in a sync after the marker's: compare again for up to 30 s before a difference
    // counts (15 s was once too short on a loaded machine: kube-proxy still without a Node's zone).
    for (let tries = 0; comparison.differing.size && tries < 10; tries++) {
      await new Promise((r) => setTimeout(r, 3000));
      const again = await Promise.all(this.netns.map((ns) => this.rawDumps(ns)));
      comparison = compareDumps(this.normalize(again[0]!), this.normalize(again[1]!));
    }
    const matched = namespaces.filter((ns) => !comparison.differing.has(ns));
    return { comparison, compared: namespaces, matched };
  }

  /** The real kube-proxy's raw dumps (IPv4, IPv6), e.g. to check that a flag took effect there. */
  kubeProxyDumps(): Promise<[string, string]> {
    return this.rawDumps(this.netns[0]!);
  }

  /** Whether the kernel of the kube-proxy namespace has nfacct (kube-proxy's counters exist there). */
  async nfacctCounters(): Promise<string> {
    return inNetnsOutput(this.netns[0]!, ['nfacct', 'list']).catch((err: Error) => `nfacct unavailable: ${err.message}`);
  }

  async stop(): Promise<void> {
    for (const run of this.runs) await stopProcess(run.child);
    for (const r of this.relays) await stopProcess(r);
    for (const ns of this.netns) await deleteNetns(ns);
    await this.cluster.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
