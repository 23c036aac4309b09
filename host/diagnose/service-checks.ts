/**
 * The checks of one Service: why its selector finds no endpoint, why a port resolves nowhere, why
 * this node drops its traffic, and settings that do nothing. Each check follows what the real
 * component does: the EndpointSlice controller for selection and named ports (FindPort: name and
 * protocol), kube-proxy's CategorizeEndpoints for Local policies and the terminating fallback.
 */
import type { ModelServicePort } from '../engine/model.js';
import { findPort, podReady, selects } from '../model/endpoints.js';
import { type KubeObject, type ServiceView, originOf } from '../model/index.js';
import { list, record, stringMap, text } from '../model/fields.js';
import { FindingList } from './finding.js';

export interface ServiceFacts {
  readonly raw: KubeObject;
  readonly view: ServiceView;
  /** The model's ports of this Service (none for headless and ExternalName). */
  readonly ports: readonly ModelServicePort[];
  /** Pods of the Service's namespace; undefined when the input holds no Pods at all. */
  readonly pods: readonly KubeObject[] | undefined;
  /** Pods of other namespaces that the selector would match (a common mistake). */
  readonly elsewhere: readonly KubeObject[];
  readonly nodeName: string;
}

/** At most this many Pod names in one message. */
const NAMES_SHOWN = 5;

function names(pods: readonly KubeObject[]): string {
  const shown = pods.slice(0, NAMES_SHOWN).map((p) => p.metadata?.name ?? '?');
  return pods.length > NAMES_SHOWN ? `${shown.join(', ')} and ${pods.length - NAMES_SHOWN} more` : shown.join(', ');
}

function selectorText(selector: Readonly<Record<string, string>>): string {
  return Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
}

/** `web-1 (Ready=False: ContainersNotReady, phase Running)` */
function readiness(pod: KubeObject): string {
  const status = record(pod['status']);
  const ready = list(status['conditions']).map((c) => record(c)).find((c) => c['type'] === 'Ready');
  const phase = text(status['phase']) ?? 'Pending';
  if (!ready) return `${pod.metadata?.name ?? '?'} (no Ready condition, phase ${phase})`;
  const reason = text(ready['reason']);
  return `${pod.metadata?.name ?? '?'} (Ready=${String(ready['status'])}${reason ? `: ${reason}` : ''}, phase ${phase})`;
}

function hasIP(pod: KubeObject): boolean {
  const status = record(pod['status']);
  return Boolean(status['podIP']) || list(status['podIPs']).length > 0;
}

export function checkService(s: ServiceFacts): FindingList {
  const out = new FindingList();
  const at = { object: `Service "${s.view.namespace}/${s.view.name}"`, origin: originOf(s.raw) };
  const spec = record(s.raw['spec']);

  if (s.view.type === 'ExternalName') {
    if (s.view.selector || list(spec['ports']).length > 0)
      out.add('ExternalNameIgnoresPortsAndSelector', 'warning', at, s.view.selector ? 'spec.selector' : 'spec.ports',
        `an ExternalName Service is only a DNS CNAME to "${s.view.externalName}": no proxy serves it, so its ${s.view.selector ? 'selector' : 'ports'} select and forward nothing`,
        `remove ${s.view.selector ? 'spec.selector' : 'spec.ports'}, or make it a ClusterIP Service if you meant to proxy to Pods`);
    return out;
  }
  const headless = s.view.clusterIPs[0] === 'None';
  if (headless && spec['sessionAffinity'] === 'ClientIP')
    out.add('HeadlessWithAffinity', 'warning', at, 'spec.sessionAffinity',
      'a headless Service has no virtual IP, so no proxy applies ClientIP affinity: clients resolve the Pod addresses themselves',
      'remove sessionAffinity, or give the Service a clusterIP if you need sticky sessions');
  if (s.view.type === 'LoadBalancer' && s.view.loadBalancerIngress.length === 0)
    out.add('LoadBalancerPending', 'warning', at, 'status.loadBalancer.ingress',
      'no load-balancer ingress: EXTERNAL-IP stays <pending> until a load-balancer implementation assigns one; only the NodePort answers meanwhile',
      'run a load-balancer controller (e.g. MetalLB), or give vipwasm --loadbalancer-ip-pool <cidr>');

  if (s.view.selector) checkSelection(s, at, out);
  checkPolicies(s, at, out);
  return out;
}

/** Selector → Pods → readiness → ports, in the order the EndpointSlice controller looks. */
function checkSelection(s: ServiceFacts, at: { object: string; origin?: ReturnType<typeof originOf> }, out: FindingList): void {
  const selector = s.view.selector!;
  const sel = selectorText(selector);
  const hasEndpoints = s.view.endpoints.length > 0;
  if (s.pods === undefined) {
    if (!hasEndpoints)
      out.add('NoEndpoints', 'error', at, 'spec.selector', `no endpoint selected by ${sel}`,
        `look at the Pods: kubectl get pods -n ${s.view.namespace} -l ${sel} (add them to the input to let diagnose say why)`);
    return;
  }
  const selected = s.pods.filter((p) => selects(selector, stringMap(p.metadata?.labels)));
  if (selected.length === 0) {
    const other = s.elsewhere.length ? ` (Pods in namespace ${[...new Set(s.elsewhere.map((p) => `"${p.metadata?.namespace}"`))].join(', ')} match it, but a Service only selects Pods of its own namespace)` : '';
    out.add('SelectorMatchesNoPod', 'error', at, 'spec.selector', `no Pod in namespace "${s.view.namespace}" matches ${sel}${other}`,
      `label the Pods ${sel} or change spec.selector to match their labels: kubectl get pods -n ${s.view.namespace} --show-labels`);
    return;
  }
  const live = selected.filter((p) => !['Succeeded', 'Failed'].includes(text(record(p['status'])['phase']) ?? ''));
  const ready = live.filter((p) => podReady(p) && hasIP(p) && !p.metadata?.deletionTimestamp);
  const publishNotReady = record(s.raw['spec'])['publishNotReadyAddresses'] === true;
  if (ready.length === 0 && !publishNotReady) {
    const terminatingServing = live.filter((p) => p.metadata?.deletionTimestamp && podReady(p));
    if (terminatingServing.length > 0) {
      out.add('OnlyTerminatingEndpoints', 'warning', at, 'spec.selector',
        `every selected Pod is terminating (${names(terminatingServing)}): traffic goes to them only because none is ready elsewhere (kube-proxy's terminating fallback), and stops when they exit`,
        `check why no replacement Pod is Ready: kubectl get pods -n ${s.view.namespace} -l ${sel}`);
    } else {
      out.add('NoReadyPod', 'error', at, 'spec.selector', `${selected.length} Pod(s) match ${sel} but none is Ready: ${live.length ? live.slice(0, NAMES_SHOWN).map(readiness).join('; ') : `all finished (${names(selected)})`}`,
        `find out why they are not Ready (readiness probe, crash, image): kubectl describe pod -n ${s.view.namespace} ${live[0]?.metadata?.name ?? selected[0]!.metadata?.name ?? ''}`);
    }
  }
  checkTargetPorts(s, live, at, out);
}

/** Named targetPorts need a containerPort of that name and protocol (FindPort); numbers are only checked against declarations. */
function checkTargetPorts(s: ServiceFacts, pods: readonly KubeObject[], at: { object: string; origin?: ReturnType<typeof originOf> }, out: FindingList): void {
  const declared = (pod: KubeObject) =>
    list(record(pod['spec'])['containers']).flatMap((c) => list(record(c)['ports']).map((p) => record(p)));
  s.view.ports.forEach((port, i) => {
    const field = `spec.ports[${i}].targetPort`;
    if (typeof port.targetPort === 'string') {
      const name = port.targetPort;
      const missing = pods.filter((p) => findPort(p, name, port.protocol) === undefined);
      if (missing.length === 0) return;
      const otherProtocol = missing.filter((p) => declared(p).some((d) => d['name'] === name));
      if (otherProtocol.length > 0) {
        const proto = (declared(otherProtocol[0]!).find((d) => d['name'] === name)?.['protocol'] as string | undefined) ?? 'TCP';
        out.add('PortProtocolMismatch', 'error', at, field,
          `the Service port is ${port.protocol} but container port "${name}" is ${proto} in ${names(otherProtocol)}: the port resolves only where name and protocol both match`,
          `set spec.ports[${i}].protocol to ${proto}, or declare a ${port.protocol} container port named "${name}"`);
        return;
      }
      const all = missing.length === pods.length;
      out.add('NamedTargetPortUndeclared', all ? 'error' : 'warning', at, field,
        `${all ? 'no selected Pod declares' : `${missing.length} of ${pods.length} selected Pods do not declare`} a ${port.protocol} container port named "${name}"${all ? '' : ` (${names(missing)})`}: ${all ? 'the port has no endpoints' : 'those Pods get no traffic on this port'}`,
        `add ports: [{name: ${name}, containerPort: <port>}] to the containers, or set targetPort to the number`);
      return;
    }
    const withDeclarations = pods.filter((p) => declared(p).length > 0);
    const undeclared = withDeclarations.filter((p) => !declared(p).some((d) => d['containerPort'] === port.targetPort));
    if (undeclared.length === 0) return;
    const sample = declared(undeclared[0]!).map((d) => `${String(d['containerPort'])}/${String(d['protocol'] ?? 'TCP')}`).join(', ');
    out.add('TargetPortUndeclared', 'warning', at, field,
      `targetPort ${port.targetPort} is not among the container ports ${undeclared.length === withDeclarations.length ? 'the selected Pods' : names(undeclared)} declare (${sample}): traffic is still sent to ${port.targetPort}, and refused if nothing listens there`,
      `check the port the application listens on; set targetPort to it (or to the container port's name)`);
  });
}

/** kube-proxy drops what a Local policy leaves without endpoints on this node. */
function checkPolicies(s: ServiceFacts, at: { object: string; origin?: ReturnType<typeof originOf> }, out: FindingList): void {
  if (!s.nodeName) return;
  const node = `node "${s.nodeName}"`;
  const seen = new Set<string>();
  for (const sp of s.ports) {
    if (!sp.hasEndpoints) continue;
    const externally = sp.nodePort !== 0 || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0;
    if (sp.externalTrafficPolicy === 'Local' && externally && !sp.backends.some((b) => b.external) && !seen.has('external')) {
      seen.add('external');
      out.add('NoLocalEndpoint', 'warning', at, 'spec.externalTrafficPolicy',
        `Local, and no ready endpoint runs on ${node}: external traffic (NodePort${sp.loadBalancerIPs.length ? ', load-balancer IP' : ''}${sp.externalIPs.length ? ', externalIPs' : ''}) arriving here is dropped, and the health check port answers 503`,
        `expected if the load balancer follows healthCheckNodePort; otherwise run a Pod on ${node} or set externalTrafficPolicy: Cluster`);
    }
    if (sp.internalTrafficPolicy === 'Local' && !sp.backends.some((b) => b.cluster) && !seen.has('internal')) {
      seen.add('internal');
      out.add('NoLocalEndpoint', 'warning', at, 'spec.internalTrafficPolicy',
        `Local, and no ready endpoint runs on ${node}: connections from this node to the ClusterIP are dropped`,
        `run a Pod on every node that calls this Service (a DaemonSet), or set internalTrafficPolicy: Cluster`);
    }
  }
}
