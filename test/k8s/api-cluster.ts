/**
 * The shared setup of the "API source, for real" suites (issue 11): one real control plane per
 * file (scripts/k8s/cluster.ts) with a service CIDR inside 198.18.0.0/15, so every ClusterIP the
 * API server allocates may carry test traffic in a namespace the test creates; Nodes for the real
 * EndpointSlice controller to place Pods on; Pods made and changed with kubectl (there is no
 * kubelet: spec.nodeName at creation, status through the status subresource); and the `web`
 * Service the suites follow through creates, scale-ups, readiness flips, terminating Pods, an
 * update and a delete.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from '../../scripts/k8s/cluster.js';
import { until } from '../../scripts/k8s/proxies.js';

const execFileP = promisify(execFile);

/** Inside 198.18.0.0/15: the API server hands out ClusterIPs the tests may send to. */
export const SERVICE_CIDR = '198.19.0.0/16';
/** The node vipwasm runs as, and another one. */
export const NODE = { name: 'node-a', ip: '198.18.0.10' } as const;
export const OTHER_NODE = { name: 'node-b', ip: '198.18.0.11' } as const;
/** The finalizer that keeps a deleted Pod terminating (removed in cleanup). */
export const FINALIZER = 'vipwasm.io/test';
/** The backend port every `web` Pod serves. */
export const TARGET_PORT = 8080;

/** Pod name → podIP of the `web` Pods the scenario uses. */
export const POD_IPS: Record<string, string> = {
  'web-a': '198.18.1.1', 'web-b': '198.18.1.2', 'web-c': '198.18.1.3', 'web-d': '198.18.1.4', 'web-e': '198.18.1.5',
};

export interface ApiCluster {
  readonly cluster: Cluster;
  /** A scratch directory (kubeconfigs, sockets), removed by stop(). */
  readonly dir: string;
  /** How many full lists of `resource` (e.g. endpointslices) vipwasm has made so far (from the audit log). */
  lists(resource: string): number;
  stop(): Promise<void>;
}

/** Starts a control plane with {@link SERVICE_CIDR} and both Nodes, ready for Pods in `default`. */
export async function startApiCluster(name: string): Promise<ApiCluster> {
  const dir = mkdtempSync(join(tmpdir(), `vipwasm-${name}-`));
  const audit = { policy: join(dir, 'audit-policy.yaml'), log: join(dir, 'audit.log') };
  writeFileSync(audit.policy, JSON.stringify(AUDIT_POLICY));
  const cluster = await Cluster.start({
    dir: join(dir, 'cluster'), serviceCIDR: SERVICE_CIDR,
    apiserverArgs: ['--audit-policy-file', audit.policy, '--audit-log-path', audit.log, '--audit-log-mode', 'blocking'],
  });
  try {
    const nodes = [NODE, OTHER_NODE].map((n) => ({
      apiVersion: 'v1', kind: 'Node', metadata: { name: n.name }, status: { addresses: [{ type: 'InternalIP', address: n.ip }] },
    }));
    await cluster.kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nodes }));
    // The ServiceAccount admission plugin refuses Pods until the controller made `default`.
    await until('ServiceAccount default/default', () => cluster.kubectl(['get', 'serviceaccount', 'default']).then(() => true, () => false), 60_000);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return {
    cluster, dir,
    lists(resource) {
      return auditedLists(audit.log, resource);
    },
    async stop() {
      await releaseTerminatingPods(cluster).catch(() => undefined);
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Audits list requests of the three resources vipwasm watches, to tell a relist from a resumed watch. */
const AUDIT_POLICY = {
  apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: ['RequestReceived'],
  rules: [
    { level: 'Metadata', verbs: ['list'], resources: [{ group: '', resources: ['services', 'nodes'] }, { group: 'discovery.k8s.io', resources: ['endpointslices'] }] },
    { level: 'None' },
  ],
};

/** List requests in the audit log made by vipwasm (by @kubernetes/client-node's user agent). */
function auditedLists(log: string, resource: string): number {
  if (!existsSync(log)) return 0;
  return readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { verb: string; userAgent?: string; objectRef?: { resource?: string } })
    .filter((e) => e.verb === 'list' && e.objectRef?.resource === resource && (e.userAgent ?? '').startsWith('kubernetes-client-javascript/')).length;
}

/** The `web` Service: selector app=web, port `port` → targetPort http (8080 on the Pods). */
export function webService(port = 80): object {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }] },
  };
}

/** Creates a `web` Pod on node-a (with the finalizer when `finalizer`), then reports it Running. */
export async function createWebPod(cluster: Cluster, name: string, opts: { ready: boolean; finalizer?: boolean }): Promise<void> {
  const pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'web' }, ...(opts.finalizer ? { finalizers: [FINALIZER] } : {}) },
    spec: {
      nodeName: NODE.name, automountServiceAccountToken: false,
      containers: [{ name: 'web', image: 'registry.k8s.io/pause:3.10', ports: [{ name: 'http', containerPort: TARGET_PORT }] }],
    },
  };
  await cluster.kubectl(['create', '-f', '-'], JSON.stringify(pod));
  await cluster.setPodStatus('default', name, { ips: [POD_IPS[name]!], ready: opts.ready });
}

/** Flips a Pod's Ready condition, as kubelet would after a readiness probe. */
export function setReady(cluster: Cluster, name: string, ready: boolean): Promise<void> {
  return cluster.setPodStatus('default', name, { ips: [POD_IPS[name]!], ready });
}

/** Deletes a Pod without waiting: its finalizer keeps it, with a deletionTimestamp (terminating). */
export async function terminatePod(cluster: Cluster, name: string): Promise<void> {
  await cluster.kubectl(['delete', 'pod', '-n', 'default', name, '--wait=false']);
}

/** Removes the test finalizer from every Pod that has it, so nothing is left half-deleted. */
export async function releaseTerminatingPods(cluster: Cluster): Promise<void> {
  const pods = JSON.parse(await cluster.kubectl(['get', 'pods', '-A', '-o', 'json'])) as { items: { metadata: { name: string; namespace: string; finalizers?: string[] } }[] };
  for (const p of pods.items.filter((x) => x.metadata.finalizers?.includes(FINALIZER))) {
    await cluster.kubectl(['patch', 'pod', '-n', p.metadata.namespace, p.metadata.name, '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
  }
}

/** What the real EndpointSlice controller wrote for `web`: the address lists by condition. */
export interface SliceState {
  ready: string[];
  servingTerminating: string[];
  notReady: string[];
}

export async function webSlices(cluster: Cluster): Promise<SliceState> {
  const out = JSON.parse(await cluster.kubectl(['get', 'endpointslices', '-n', 'default', '-l', 'kubernetes.io/service-name=web', '-o', 'json'])) as {
    items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean } }[] }[];
  };
  const state: SliceState = { ready: [], servingTerminating: [], notReady: [] };
  for (const e of out.items.flatMap((s) => s.endpoints ?? [])) {
    const c = e.conditions ?? {};
    const list = c.ready ? state.ready : c.serving && c.terminating ? state.servingTerminating : state.notReady;
    list.push(...e.addresses);
  }
  for (const l of Object.values(state)) l.sort();
  return state;
}

/** Waits until the controller's EndpointSlices for `web` hold exactly these ready / serving-terminating Pods. */
export async function waitForSlices(cluster: Cluster, ready: string[], servingTerminating: string[] = []): Promise<void> {
  const want = JSON.stringify([ips(ready), ips(servingTerminating)]);
  let last: SliceState | undefined;
  await until('EndpointSlices of default/web', async () => {
    last = await webSlices(cluster);
    return JSON.stringify([last.ready, last.servingTerminating]) === want;
  }, 30_000).catch((err: Error) => {
    throw new Error(`${err.message}: want ready+terminating ${want}, have ${JSON.stringify(last)}`);
  });
}

/** Pod names → their IPs, sorted. */
export function ips(pods: string[]): string[] {
  return pods.map((p) => POD_IPS[p]!).sort();
}

/** The ClusterIP the API server allocated to `web`. */
export async function webClusterIP(cluster: Cluster): Promise<string> {
  return (await cluster.kubectl(['get', 'service', '-n', 'default', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
}

export const cliPath = join(import.meta.dirname, '..', '..', 'bin', 'vipwasm.js');

/** Runs `node bin/vipwasm.js …` to completion (the built CLI, as a user runs it). */
export async function vipwasm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [cliPath, ...args], { maxBuffer: 16 << 20, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

