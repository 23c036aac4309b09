/**
 * Random cluster DNS scenarios for a real API server (seeded, so a run can be repeated): namespaces
 * with ClusterIP (single- and dual-stack, named and unnamed, TCP and UDP ports), headless (pods
 * with and without hostname/subdomain, ready and not, publishNotReadyAddresses, no ports) and
 * ExternalName Services (targets outside and inside the zone), plus the questions to ask about
 * them: every name the specification defines and the negative cases around them.
 */
import { seededUnit } from '../../host/browser/simulate.js';
import type { Cluster } from '../k8s/cluster.js';

export interface ScenarioPod {
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly ready: boolean;
  readonly hostname?: string;
}

export interface Scenario {
  readonly objects: object[];
  readonly pods: readonly ScenarioPod[];
  /** ns/name of every Service. */
  readonly services: readonly { namespace: string; name: string; kind: 'ClusterIP' | 'Headless' | 'ExternalName'; ports: { name: string; protocol: string }[] }[];
}

/** `podOffset` keeps pod IPs of scenarios applied to one cluster apart. */
export function generateScenario(seed: number, servicesPerNamespace = 4, namespaces = ['dns-a', 'dns-b', 'dns-c'], podOffset = 0): Scenario {
  const rnd = seededUnit(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const objects: object[] = [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'dns-node' } }];
  const pods: ScenarioPod[] = [];
  const services: Scenario['services'][number][] = [];
  let podN = podOffset;
  for (const ns of namespaces) {
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    for (let i = 0; i < servicesPerNamespace; i++) {
      const kind = pick(['ClusterIP', 'ClusterIP', 'Headless', 'Headless', 'ExternalName'] as const);
      const name = `${kind === 'ClusterIP' ? 'svc' : kind === 'Headless' ? 'hl' : 'ext'}-${i}`;
      if (kind === 'ExternalName') {
        const inZone = services.find((s) => s.kind === 'ClusterIP');
        const target = rnd() < 0.5 && inZone ? `${inZone.name}.${inZone.namespace}.svc.cluster.local` : `target-${i}.example.test`;
        objects.push({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { type: 'ExternalName', externalName: target } });
        services.push({ namespace: ns, name, kind, ports: [] });
        continue;
      }
      const nPorts = kind === 'Headless' ? Math.floor(rnd() * 3) : 1 + Math.floor(rnd() * 3);
      const ports = Array.from({ length: nPorts }, (_, k) => ({
        name: nPorts === 1 && rnd() < 0.4 ? '' : pick(['http', 'grpc', 'dns', 'metrics', 'peer']) + k,
        protocol: pick(['TCP', 'TCP', 'UDP']), port: 1000 + k * 10 + i, targetPort: 2000 + k * 10 + i,
      }));
      const spec: Record<string, unknown> = {
        selector: { app: `${ns}-${name}` },
        ports: ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol, port: p.port, targetPort: p.targetPort })),
      };
      if (kind === 'Headless') {
        spec['clusterIP'] = 'None';
        if (rnd() < 0.3) spec['publishNotReadyAddresses'] = true;
      } else if (rnd() < 0.4) spec['ipFamilyPolicy'] = 'PreferDualStack';
      objects.push({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec });
      services.push({ namespace: ns, name, kind, ports: ports.map((p) => ({ name: p.name, protocol: p.protocol })) });
      const nPods = Math.floor(rnd() * 4);
      for (let k = 0; k < nPods; k++) {
        podN++;
        const podName = `${name}-${k}`;
        const hostname = kind === 'Headless' && rnd() < 0.6 ? podName : undefined;
        const pod = { namespace: ns, name: podName, ip: `10.244.${podN >> 8}.${(podN & 255) || 1}`, ready: rnd() < 0.7, ...(hostname ? { hostname } : {}) };
        pods.push(pod);
        objects.push({
          apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, namespace: ns, labels: { app: `${ns}-${name}` } },
          spec: { nodeName: 'dns-node', ...(hostname ? { hostname, subdomain: name } : {}), containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
        });
      }
    }
  }
  return { objects, pods, services };
}

/** Creates the objects and reports the pods' status as kubelet would. */
export async function applyScenario(cluster: Cluster, s: Scenario): Promise<void> {
  await cluster.apply(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: s.objects }));
  for (const p of s.pods) await cluster.setPodStatus(p.namespace, p.name, { ips: [p.ip], ready: p.ready });
}

function reverse(ip: string): string {
  if (!ip.includes(':')) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const full = ip.split('::').length === 2
    ? (() => { const [a, b] = ip.split('::'); const l = a ? a.split(':') : []; const r = b ? b.split(':') : []; return [...l, ...Array(8 - l.length - r.length).fill('0'), ...r]; })()
    : ip.split(':');
  return `${full.map((g) => g.padStart(4, '0')).join('').split('').reverse().join('.')}.ip6.arpa`;
}

function mixedCase(name: string): string {
  return [...name].map((c, i) => (i % 3 === 0 ? c.toUpperCase() : c)).join('');
}

/** The questions for a scenario, given the ClusterIPs the API server allocated (ns/name → IPs). */
export function scenarioQuestions(s: Scenario, clusterIPs: ReadonlyMap<string, readonly string[]>): [string, string][] {
  const q: [string, string][] = [];
  const zone = 'cluster.local';
  for (const svc of s.services) {
    const name = `${svc.name}.${svc.namespace}.svc.${zone}`;
    for (const t of ['A', 'AAAA', 'SRV', 'CNAME', 'TXT']) q.push([name, t]);
    q.push([mixedCase(name), 'A']);
    for (const p of svc.ports) {
      if (p.name) q.push([`_${p.name}._${p.protocol.toLowerCase()}.${name}`, 'SRV'], [`_${p.name}._${p.protocol === 'TCP' ? 'udp' : 'tcp'}.${name}`, 'SRV']);
    }
    for (const ip of clusterIPs.get(`${svc.namespace}/${svc.name}`) ?? []) q.push([reverse(ip), 'PTR']);
  }
  for (const p of s.pods) {
    const svc = p.name.replace(/-\d+$/, '');
    q.push([`${p.hostname ?? p.ip.replaceAll('.', '-')}.${svc}.${p.namespace}.svc.${zone}`, 'A'], [reverse(p.ip), 'PTR']);
    q.push([`${p.ip.replaceAll('.', '-')}.${p.namespace}.pod.${zone}`, 'A']);
  }
  const ns = s.services[0]?.namespace ?? 'default';
  q.push(
    [`nope.${ns}.svc.${zone}`, 'A'], [`${ns}.svc.${zone}`, 'A'], [`no-such-namespace.svc.${zone}`, 'A'], [`svc.${zone}`, 'A'],
    [`nope.no-such-namespace.svc.${zone}`, 'A'], [zone, 'SOA'], [zone, 'A'], [`dns-version.${zone}`, 'TXT'], [`DNS-Version.${zone}`, 'TXT'],
    [`1-2-3-4.${ns}.pod.${zone}`, 'A'], [`1-2-3-4.${ns}.pod.${zone}`, 'AAAA'], [`1-2-3-4.no-such-namespace.pod.${zone}`, 'A'],
    [`a.b.c.d.${ns}.svc.${zone}`, 'A'], [`foo.${zone}`, 'A'], ['example.test', 'A'], ['10.in-addr.arpa', 'PTR'], ['1.0.0.127.in-addr.arpa', 'PTR'],
  );
  return q;
}

/** ClusterIPs by ns/name, as the API server allocated them. */
export async function allocatedClusterIPs(cluster: Cluster): Promise<Map<string, string[]>> {
  const list = JSON.parse(await cluster.kubectl(['get', 'services', '-A', '-o', 'json'])) as { items: { metadata: { namespace: string; name: string }; spec: { clusterIPs?: string[] } }[] };
  return new Map(list.items.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, (s.spec.clusterIPs ?? []).filter((ip) => ip !== 'None')]));
}
