/**
 * `vipwasm get services|endpoints -f … [-o wide|json]`: what a cluster would show with
 * `kubectl get svc` / `kubectl get ep` for these manifests, allocations included.
 */
import type { Command } from 'commander';
import { type ServiceView, formatEndpointsTable, formatServicesTable } from '../../model/index.js';
import { UsageError } from '../errors.js';
import { reportDiagnostics } from '../report-diagnostics.js';
import { type SourceFlags, addSourceOptions, loadModelOnce, resolveSourceOptions } from '../source-options.js';

const RESOURCES: Record<string, 'services' | 'endpoints'> = {
  services: 'services', service: 'services', svc: 'services',
  endpoints: 'endpoints', endpoint: 'endpoints', ep: 'endpoints',
};

/** `services,endpoints` → ['services', 'endpoints']; throws UsageError for anything else. */
export function parseResources(arg: string): ('services' | 'endpoints')[] {
  const out: ('services' | 'endpoints')[] = [];
  for (const part of arg.split(',').map((s) => s.trim().toLowerCase())) {
    const r = RESOURCES[part];
    if (!r) throw new UsageError(`get: unknown resource type "${part}" (want services or endpoints)`);
    if (!out.includes(r)) out.push(r);
  }
  return out;
}

/** A Service object as the API server would return it after allocation. */
export function serviceObject(v: ServiceView): Record<string, unknown> {
  const spec: Record<string, unknown> = { type: v.type };
  if (v.type !== 'ExternalName') {
    spec['clusterIP'] = v.clusterIPs[0];
    spec['clusterIPs'] = v.clusterIPs;
  } else spec['externalName'] = v.externalName;
  if (v.ports.length) {
    spec['ports'] = v.ports.map((p) => ({
      ...(p.name ? { name: p.name } : {}), protocol: p.protocol, port: p.port, targetPort: p.targetPort,
      ...(p.nodePort ? { nodePort: p.nodePort } : {}), ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    }));
  }
  if (v.selector) spec['selector'] = v.selector;
  if (v.externalIPs.length) spec['externalIPs'] = v.externalIPs;
  const ingress = v.loadBalancerIngress.map((x) => (/^[\d.:a-fA-F]+$/.test(x) ? { ip: x } : { hostname: x }));
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name: v.name, namespace: v.namespace }, spec,
    status: { loadBalancer: ingress.length ? { ingress } : {} },
  };
}

/** An Endpoints object (one subset per port) for `-o json`. */
export function endpointsObject(v: ServiceView): Record<string, unknown> {
  const subsets = new Map<string, { ports: unknown[]; addresses: unknown[]; notReadyAddresses: unknown[] }>();
  for (const e of v.endpoints) {
    const k = `${e.portName}/${e.protocol}/${e.port}`;
    let s = subsets.get(k);
    if (!s) subsets.set(k, (s = { ports: [{ ...(e.portName ? { name: e.portName } : {}), port: e.port, protocol: e.protocol }], addresses: [], notReadyAddresses: [] }));
    const addr = { ip: e.ip, ...(e.nodeName ? { nodeName: e.nodeName } : {}) };
    (e.ready ? s.addresses : s.notReadyAddresses).push(addr);
  }
  return {
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: v.name, namespace: v.namespace },
    subsets: [...subsets.values()].map((s) => ({
      ...(s.addresses.length ? { addresses: s.addresses } : {}), ...(s.notReadyAddresses.length ? { notReadyAddresses: s.notReadyAddresses } : {}), ports: s.ports,
    })),
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('get')
    .description('print Services or Endpoints as kubectl would (services|svc, endpoints|ep, or both comma-separated)')
    .argument('<resources>', 'services, endpoints, or services,endpoints')
    .option('-o, --output <format>', 'wide or json');
  addSourceOptions(cmd);
  cmd.action(async (resources: string, flags: SourceFlags & { output?: string }) => {
    const kinds = parseResources(resources);
    if (flags.output !== undefined && flags.output !== 'wide' && flags.output !== 'json')
      throw new UsageError(`--output: unsupported format "${flags.output}" (want wide or json)`);
    const settings = resolveSourceOptions(flags);
    const { result, diagnostics } = await loadModelOnce(settings);
    const wide = flags.output === 'wide';
    if (flags.output === 'json') {
      const items = kinds.flatMap((k) => result.services.filter((v) => k === 'services' || v.type !== 'ExternalName').map((v) => (k === 'services' ? serviceObject(v) : endpointsObject(v))));
      process.stdout.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2)}\n`);
    } else if (result.services.length === 0) {
      process.stderr.write('No resources found\n');
    } else {
      kinds.forEach((k, i) => {
        if (i > 0) process.stdout.write('\n');
        // kubectl names rows `service/x` and `endpoints/x` when several types are listed.
        const several = kinds.length > 1;
        process.stdout.write(
          k === 'services' ? formatServicesTable(result.services, wide, several ? 'service/' : '') : formatEndpointsTable(result.services, wide, several ? 'endpoints/' : ''),
        );
      });
    }
    const code = reportDiagnostics(diagnostics);
    if (code) process.exitCode = code;
  });
}
