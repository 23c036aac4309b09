/**
 * `vipwasm diagnose -f …|--kubeconfig … [SERVICE] [-o json]`: every reason a Service is
 * unreachable or surprising (host/diagnose), each with the object, the field and the fix.
 * Exit codes: 0 nothing found, 3 something found, 2 bad usage, 1 runtime failure (as kubectl: a
 * Service that does not exist is one).
 */
import type { Command } from 'commander';
import { diagnose, formatFinding } from '../../diagnose/index.js';
import type { KubeObject } from '../../model/index.js';
import { loadInformers } from '../../sources/api-source.js';
import { UsageError } from '../errors.js';
import { type SourceFlags, addSourceOptions, loadModelOnce, resolveSourceOptions } from '../source-options.js';

/** The exit code when diagnose found something (documented in the README). */
export const FOUND_EXIT_CODE = 3;

/** `web` → `default/web`; `ns/web` stays. */
function serviceKey(arg: string): string {
  const parts = arg.split('/');
  if (parts.length > 2 || parts.some((p) => !p)) throw new UsageError(`diagnose: "${arg}" is not a Service name (want NAME or NAMESPACE/NAME)`);
  return parts.length === 1 ? `default/${arg}` : arg;
}

/**
 * Pods from the API server, for the checks that need them (kube-proxy itself never reads Pods, so
 * the API source does not watch them). Without permission the Pod checks are skipped, and said so.
 */
async function listPods(kubeconfig: string): Promise<KubeObject[] | undefined> {
  const { errorDetail, loadKubeConfig } = await loadInformers();
  const { CoreV1Api } = await import('@kubernetes/client-node');
  try {
    const kc = loadKubeConfig(kubeconfig || undefined);
    const list = await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces();
    return list.items.map((p) => ({ ...(JSON.parse(JSON.stringify(p)) as KubeObject), apiVersion: 'v1', kind: 'Pod' }));
  } catch (err) {
    process.stderr.write(`warning: cannot list Pods (${errorDetail(err)}): checks that look at Pods are skipped\n`);
    return undefined;
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('diagnose')
    .description('every reason a Service is unreachable or surprising, with the object, field and fix (exit 3 when something is found)')
    .argument('[service]', 'only this Service: NAME (namespace default) or NAMESPACE/NAME')
    .option('-o, --output <format>', 'json');
  addSourceOptions(cmd);
  cmd.action(async (service: string | undefined, flags: SourceFlags & { output?: string }) => {
    if (flags.output !== undefined && flags.output !== 'json') throw new UsageError(`--output: unsupported format "${flags.output}" (want json)`);
    const only = service === undefined ? undefined : serviceKey(service);
    const settings = resolveSourceOptions(flags);
    const loaded = await loadModelOnce(settings);
    if (only && !loaded.result.services.some((v) => `${v.namespace}/${v.name}` === only)) {
      const [ns, name] = only.split('/');
      throw new Error(`services "${name}" not found in namespace "${ns}"`);
    }
    let objects = loaded.objects;
    if (settings.kubeconfig !== undefined) {
      const pods = await listPods(settings.kubeconfig);
      if (pods) objects = [...objects, ...pods];
    }
    const findings = diagnose(objects, { ...loaded.result, diagnostics: loaded.diagnostics }, {
      nodeName: settings.modelOptions.nodeName ?? '', ...(only ? { service: only } : {}),
    });
    if (flags.output === 'json') process.stdout.write(`${JSON.stringify({ findings }, null, 2)}\n`);
    else process.stdout.write(findings.length ? `${findings.map(formatFinding).join('\n')}\n` : 'No problems found.\n');
    process.exitCode = findings.length ? FOUND_EXIT_CODE : 0;
  });
}
