/**
 * Golden scenario files (Cilium's pkg/loadbalancer habit): one file holds the input manifests, the
 * options, and the expected rule dumps; then the manifests after a change and the expected partial
 * sync. Adding a scenario means adding a file under ./scenarios.
 *
 * Sections start with a line `#### <name>`; text before the first section is a free description.
 *   options            YAML: nodeName, nodeIPs, clusterCIDRs, serviceCIDRs, loadBalancerIPPool, family, masqueradeAll, scheduler, roundRobin,
 *                      nodePortAddresses, localhostNodePorts, nfacctCounters, randomFully
 *   manifests          multi-document YAML (Services, EndpointSlices, Pods, Nodes)
 *   iptables | nftables | ipvs              expected full output
 *   manifests-after    the complete manifests after a change (optional)
 *   iptables-partial | nftables-partial     expected partial sync from `manifests` to `manifests-after`
 * Run with VIPWASM_UPDATE_GOLDEN=1 to rewrite the expected sections from the current output.
 */
import { parseAllDocuments, parse } from 'yaml';
import { buildServiceModel, type KubeObject } from '../../host/model/index.js';
import type { ServiceModel } from '../../host/engine/model.js';
import type { SchedulerName } from '../../host/engine/model.js';
import type { RuleOptions } from '../../host/rules/options.js';

export interface Scenario {
  readonly description: string;
  readonly sections: Map<string, string>;
}

export function parseScenario(text: string): Scenario {
  const sections = new Map<string, string>();
  let current: string | undefined;
  const description: string[] = [];
  let body: string[] = [];
  const flush = () => {
    if (current) sections.set(current, body.join('\n').replace(/\n+$/, '') + '\n');
  };
  for (const line of text.split('\n')) {
    const m = /^#### (\S+)\s*$/.exec(line);
    if (m) {
      flush();
      current = m[1]!;
      body = [];
    } else if (current) body.push(line);
    else description.push(line);
  }
  flush();
  return { description: description.join('\n').trim(), sections };
}

export function formatScenario(s: Scenario): string {
  const parts = [s.description, ''];
  for (const [name, body] of s.sections) parts.push(`#### ${name}`, body.replace(/\n+$/, ''), '');
  return parts.join('\n');
}

interface ScenarioOptions {
  nodeName?: string;
  nodeIPs?: string[];
  clusterCIDRs?: string[];
  serviceCIDRs?: string[];
  loadBalancerIPPool?: string[];
  family?: 4 | 6;
  masqueradeAll?: boolean;
  scheduler?: SchedulerName;
  roundRobin?: boolean;
  nodePortAddresses?: string[];
  localhostNodePorts?: boolean;
  nfacctCounters?: string[];
  randomFully?: boolean;
}

export function scenarioOptions(s: Scenario): { rules: Partial<RuleOptions>; model: (manifests: string) => ServiceModel } {
  const o = (parse(s.sections.get('options') ?? '{}') ?? {}) as ScenarioOptions;
  const rules: Partial<RuleOptions> = {
    family: o.family ?? 4,
    clusterCIDRs: o.clusterCIDRs ?? [],
    masqueradeAll: o.masqueradeAll ?? false,
    roundRobin: o.roundRobin ?? false,
    ...(o.nodePortAddresses ? { nodePortAddresses: o.nodePortAddresses } : {}),
    ...(o.localhostNodePorts !== undefined ? { localhostNodePorts: o.localhostNodePorts } : {}),
    ...(o.nfacctCounters ? { nfacctCounters: o.nfacctCounters } : {}),
    ...(o.randomFully !== undefined ? { randomFully: o.randomFully } : {}),
  };
  const model = (manifests: string) => {
    const objects = parseAllDocuments(manifests).map((d) => d.toJS() as KubeObject).filter((x) => x && typeof x === 'object');
    const result = buildServiceModel(objects, {
      nodeName: o.nodeName ?? 'node-a',
      nodeIPs: o.nodeIPs ?? [],
      serviceClusterIPRanges: o.serviceCIDRs?.length ? o.serviceCIDRs : ['10.96.0.0/12'],
      loadBalancerIPPool: o.loadBalancerIPPool ?? [],
      ...(o.scheduler ? { defaultScheduler: o.scheduler } : {}),
    });
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) throw new Error(`scenario manifests have errors: ${JSON.stringify(errors, null, 1)}`);
    return result.model;
  };
  return { rules, model };
}
