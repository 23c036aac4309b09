/**
 * `vipwasm diagnose`: every reason a Service is unreachable or surprising, from the same objects
 * and ServiceModel every data plane uses. The model's own diagnostics (invalid fields, allocation
 * conflicts, unknown scheduler annotations) come first, each with a fix; then the checks of each
 * Service (./service-checks.ts) and EndpointSlices that point at no Service.
 */
import { flatten } from '../model/build.js';
import { SERVICE_NAME_LABEL } from '../model/endpoints.js';
import { type Diagnostic, type KubeObject, type ModelResult, originOf } from '../model/index.js';
import { stringMap, text } from '../model/fields.js';
import { type Finding, FindingList } from './finding.js';
import { checkService } from './service-checks.js';

export { type Finding, type FindingCode, formatFinding } from './finding.js';

export interface DiagnoseOptions {
  /** The node whose view is judged (Local traffic policies). */
  readonly nodeName: string;
  /** Only this Service (`ns/name`): its findings and the slices that point at it. */
  readonly service?: string;
}

const nsOf = (o: KubeObject): string => text(o.metadata?.namespace) || 'default';
const keyOf = (o: KubeObject): string => `${nsOf(o)}/${text(o.metadata?.name) ?? ''}`;

/** Every finding for `objects` (already built into `result`), errors first, then by object. */
export function diagnose(objects: readonly KubeObject[], result: ModelResult, options: DiagnoseOptions): Finding[] {
  const all = flatten(objects);
  const raws = new Map<string, KubeObject>();
  for (const o of all) if (o.kind === 'Service' && !raws.has(keyOf(o))) raws.set(keyOf(o), o);
  const podObjects = all.filter((o) => o.kind === 'Pod');
  const podsByNs = new Map<string, KubeObject[]>();
  for (const p of podObjects) podsByNs.set(nsOf(p), [...(podsByNs.get(nsOf(p)) ?? []), p]);
  const wanted = (key: string): boolean => options.service === undefined || options.service === key;

  const findings: Finding[] = [];
  for (const view of result.services) {
    const key = `${view.namespace}/${view.name}`;
    const raw = raws.get(key);
    if (!raw || !wanted(key)) continue;
    const selector = view.selector;
    const elsewhere = selector ? podObjects.filter((p) => nsOf(p) !== view.namespace && Object.entries(selector).every(([k, v]) => stringMap(p.metadata?.labels)[k] === v)) : [];
    findings.push(
      ...checkService({
        raw, view, ports: result.model.servicePorts.filter((sp) => sp.namespace === view.namespace && sp.name === view.name),
        pods: podObjects.length ? (podsByNs.get(view.namespace) ?? []) : undefined, elsewhere, nodeName: options.nodeName,
      }).list,
    );
  }
  findings.push(...orphanSlices(all, raws, wanted));
  // The model's diagnostics, unless a check above says the same of the same field more precisely.
  const said = new Set(findings.map((f) => `${f.object}|${f.field}`));
  const modelFindings = result.diagnostics
    .filter((d) => !said.has(`${d.object}|${d.field}`))
    .filter((d) => options.service === undefined || d.object === `Service "${options.service}"`)
    .map(fromDiagnostic);
  // Errors first, then in the order of the input (file, line), as a reader goes through it.
  const rank = (f: Finding) => (f.severity === 'error' ? 0 : 1);
  const file = (f: Finding) => f.origin?.file ?? '';
  const line = (f: Finding) => f.origin?.line ?? 0;
  return [...modelFindings, ...findings].sort((a, b) => rank(a) - rank(b) || (file(a) < file(b) ? -1 : file(a) > file(b) ? 1 : 0) || line(a) - line(b));
}

function orphanSlices(all: readonly KubeObject[], services: ReadonlyMap<string, KubeObject>, wanted: (key: string) => boolean): Finding[] {
  const out = new FindingList();
  for (const slice of all) {
    if (slice.kind !== 'EndpointSlice') continue;
    const svc = stringMap(slice.metadata?.labels)[SERVICE_NAME_LABEL];
    if (!svc || services.has(`${nsOf(slice)}/${svc}`) || !wanted(`${nsOf(slice)}/${svc}`)) continue;
    out.add('OrphanEndpointSlice', 'warning', { object: `EndpointSlice "${keyOf(slice)}"`, origin: originOf(slice) }, `metadata.labels[${SERVICE_NAME_LABEL}]`,
      `points at Service "${nsOf(slice)}/${svc}", which does not exist: no proxy uses these endpoints`,
      `create the Service "${svc}" in namespace "${nsOf(slice)}", fix the label, or delete the slice`);
  }
  return out.list;
}

/** A model diagnostic as a finding, with the fix its field and message call for. */
function fromDiagnostic(d: Diagnostic): Finding {
  return { ...d, code: 'InvalidObject', fix: fixFor(d) };
}

function fixFor(d: Diagnostic): string {
  if (d.message.includes('already allocated')) return `choose a value no other Service holds, or omit ${d.field} to have one allocated`;
  if (/nodePort|healthCheckNodePort/.test(d.field) && d.message.includes('valid range')) return `use a port inside the node port range, or omit ${d.field} to have one allocated`;
  if (d.field.includes('clusterIP') && d.message.includes('valid range')) return 'use an address inside a Service CIDR, or omit spec.clusterIP to have one allocated';
  if (d.message.includes('range is full')) return 'free addresses (delete unused Services) or add a ServiceCIDR with more room';
  if (d.field.includes('timeoutSeconds')) return 'set it between 1 and 86400 (default 10800), or set sessionAffinity: None';
  if (d.message.startsWith('Unsupported value')) return 'use one of the supported values the message lists';
  if (d.severity === 'warning') return 'nothing is rejected; read the message and adjust the field if the result is not what you meant';
  return 'correct the field as the message says: the API server rejects the object the same way, and vipwasm ignores it';
}
