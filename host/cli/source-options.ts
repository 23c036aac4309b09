/**
 * The flags every manifest-reading verb shares (get, simulate, forward, rules, envoy-config):
 * where objects come from (-f / --kubeconfig), which node this is, and the cluster settings the
 * model needs for allocation. One place, so every verb spells and checks them the same way.
 *
 *   addSourceOptions(cmd);                      // declare the flags
 *   const s = resolveSourceOptions(cmd.opts()); // validate → UsageError (exit 2)
 *   const { result } = await loadModelOnce(s);  // one-shot
 *   const source = await createSource(s);       // watching (FileSource or ApiServerSource)
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { SCHEDULERS, type SchedulerName } from '../engine/model.js';
import { type Diagnostic, type KubeObject, type ModelOptions, type ModelResult, buildServiceModel, resolveModelOptions } from '../model/index.js';
import { FileAllocationStore } from '../sources/allocation-file.js';
import { FileSource, loadManifests } from '../sources/files.js';
import { loadInformers } from '../sources/api-source.js';
import type { Source } from '../sources/source.js';
import { UsageError } from './errors.js';

/** The raw values commander collects for these flags. */
export interface SourceFlags {
  filename?: string[];
  kubeconfig?: string;
  nodeName?: string;
  nodeIp?: string[];
  serviceClusterIpRange?: string;
  serviceNodePortRange?: string;
  loadbalancerIpPool?: string[];
  stateDir?: string;
  scheduler?: string;
}

export interface SourceSettings {
  /** Manifest files/directories (-f); empty when reading from an API server. */
  readonly paths: readonly string[];
  /** Read from an API server: a kubeconfig path, or '' for in-cluster config. undefined = files. */
  readonly kubeconfig: string | undefined;
  readonly stateDir: string | undefined;
  readonly modelOptions: ModelOptions;
  /** --node-name was not given (the host name is used): a missing Node of that name is expected, not worth a warning. */
  readonly nodeNameDefaulted: boolean;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

function collectPaths(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Declare the shared flags on a verb. */
export function addSourceOptions(cmd: Command): Command {
  return cmd
    .option('-f, --filename <file|dir>', 'manifest file or directory of YAML/JSON (repeatable)', collectPaths)
    .option('--kubeconfig <path>', 'read Services, EndpointSlices and Nodes from the API server in this kubeconfig')
    .option('--node-name <name>', "this node's name: endpoints on it are local (default: the host name)")
    .option('--node-ip <ip>', "this node's IP, where NodePorts are served (repeatable or comma-separated; default: the Node object's addresses)", collect)
    .option('--service-cluster-ip-range <cidrs>', 'CIDR(s) to allocate ClusterIPs from, one per family, comma-separated', '10.96.0.0/12')
    .option('--service-node-port-range <range>', 'port range to allocate NodePorts from', '30000-32767')
    .option('--loadbalancer-ip-pool <cidr|a-b>', 'addresses to assign LoadBalancer ingress IPs from (repeatable or comma-separated); without it LoadBalancers stay <pending>', collect)
    .option('--state-dir <dir>', 'persist ClusterIP/NodePort/LoadBalancer allocations here so they survive restarts')
    .option('--scheduler <name>', `scheduler for ports without a vipwasm.io/scheduler annotation: ${SCHEDULERS.join('|')} (default rr)`);
}

/** Check the flags; throws UsageError naming the flag. */
export function resolveSourceOptions(flags: SourceFlags, opts: { forceScheduler?: boolean } = {}): SourceSettings {
  const paths = flags.filename ?? [];
  let kubeconfig: string | undefined = flags.kubeconfig;
  if (paths.length && kubeconfig !== undefined) throw new UsageError('use either -f or --kubeconfig, not both');
  if (!paths.length && kubeconfig === undefined) {
    if (process.env['KUBERNETES_SERVICE_HOST']) kubeconfig = '';
    else throw new UsageError('no objects to read: give -f <file|dir> or --kubeconfig <path>');
  }
  const scheduler = flags.scheduler ?? 'rr';
  if (!(SCHEDULERS as readonly string[]).includes(scheduler))
    throw new UsageError(`--scheduler: unknown scheduler "${scheduler}" (want one of ${SCHEDULERS.join(', ')})`);
  const modelOptions: ModelOptions = {
    nodeName: flags.nodeName ?? hostname(),
    nodeIPs: flags.nodeIp ?? [],
    serviceClusterIPRanges: (flags.serviceClusterIpRange ?? '10.96.0.0/12').split(',').map((s) => s.trim()).filter(Boolean),
    nodePortRange: flags.serviceNodePortRange ?? '30000-32767',
    loadBalancerIPPool: flags.loadbalancerIpPool ?? [],
    defaultScheduler: scheduler as SchedulerName,
    ...(opts.forceScheduler && flags.scheduler !== undefined ? { forceScheduler: scheduler as SchedulerName } : {}),
    ...(flags.stateDir ? { allocationStore: new FileAllocationStore(flags.stateDir) } : {}),
    // The API server has allocated and validated already; its ranges may differ from ours.
    ...(kubeconfig !== undefined ? { trustAllocations: true } : {}),
  };
  try {
    resolveModelOptions(modelOptions);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return { paths, kubeconfig, stateDir: flags.stateDir, modelOptions, nodeNameDefaulted: flags.nodeName === undefined };
}

/** A watching source for the settings: FileSource for -f, ApiServerSource for --kubeconfig / in-cluster. */
export async function createSource(s: SourceSettings, opts: { watch?: boolean; extraKinds?: readonly ('Pod' | 'Namespace')[] } = {}): Promise<Source> {
  if (s.kubeconfig === undefined) return new FileSource(s.paths, { watch: opts.watch ?? true });
  const { ApiServerSource } = await loadInformers();
  const nodeName = s.modelOptions.nodeName;
  try {
    // Loading once (get, simulate): fail at the first error, as kubectl does, instead of retrying.
    return new ApiServerSource({ ...(s.kubeconfig ? { kubeconfig: s.kubeconfig } : {}), ...(nodeName ? { nodeName } : {}), ...(opts.watch === false ? { failFast: true } : {}), ...(opts.extraKinds ? { extraKinds: opts.extraKinds } : {}) });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export interface LoadedModel {
  /** The objects the model was built from. */
  readonly objects: readonly KubeObject[];
  readonly result: ModelResult;
  /** Source problems (unreadable or unparsable files) followed by the model's diagnostics. */
  readonly diagnostics: readonly Diagnostic[];
}

/** Read everything once and build the model (for get, simulate, rules without --watch). */
export async function loadModelOnce(s: SourceSettings, opts: { extraKinds?: readonly ('Pod' | 'Namespace')[] } = {}): Promise<LoadedModel> {
  let objects;
  let sourceDiagnostics: readonly Diagnostic[];
  if (s.kubeconfig === undefined) {
    const loaded = await loadManifests(s.paths);
    objects = loaded.objects;
    sourceDiagnostics = loaded.diagnostics;
  } else {
    const source = await createSource(s, { watch: false, ...opts });
    try {
      const snap = await source.start();
      objects = snap.objects;
      sourceDiagnostics = snap.diagnostics;
    } finally {
      await source.close();
    }
  }
  const result = buildServiceModel(objects, s.modelOptions);
  const unnamedNode = `Node "${s.modelOptions.nodeName}"`;
  const modelDiagnostics = s.nodeNameDefaulted ? result.diagnostics.filter((d) => !(d.object === unnamedNode && d.field === '')) : result.diagnostics;
  return { objects, result, diagnostics: [...sourceDiagnostics, ...modelDiagnostics] };
}
