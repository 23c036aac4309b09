/**
 * `vipwasm env [-n NS] [--pod NAME] [-o json] -f … | --kubeconfig …`: the Service environment
 * variables kubelet would give a container in that namespace (or in that Pod: its namespace, its
 * enableServiceLinks, and only Services that existed when it started), as `NAME=value` lines or a
 * JSON list of EnvVar objects.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { namespaceEnvVars, podEnvVars } from '../../model/index.js';
import { UsageError } from '../errors.js';
import { reportDiagnostics } from '../report-diagnostics.js';
import { type SourceFlags, addSourceOptions, loadModelOnce, resolveSourceOptions } from '../source-options.js';

interface EnvFlags extends SourceFlags {
  namespace: string;
  pod?: string;
  output?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('env')
    .description('print the Service environment variables kubelet gives a container ({SVC}_SERVICE_HOST, …)')
    .option('-n, --namespace <ns>', 'the namespace of the pod', 'default')
    .option('--pod <name>', 'a Pod of the input: use its namespace, enableServiceLinks and start time')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['json']));
  addSourceOptions(cmd);
  cmd.action(async (flags: EnvFlags) => {
    process.exitCode = await runEnv(flags);
  });
}

async function runEnv(flags: EnvFlags): Promise<number> {
  const settings = resolveSourceOptions(flags);
  const { result, diagnostics } = await loadModelOnce(settings, { extraKinds: ['Pod'] });
  const code = reportDiagnostics(diagnostics);
  const view = result.discovery;
  let vars;
  if (flags.pod !== undefined) {
    const pod = view.pods.find((p) => p.namespace === flags.namespace && p.name === flags.pod);
    if (!pod) throw new UsageError(`pods "${flags.pod}" not found in namespace "${flags.namespace}"`);
    vars = podEnvVars(view, pod);
  } else vars = namespaceEnvVars(view, flags.namespace);
  if (flags.output === 'json') process.stdout.write(`${JSON.stringify(vars, null, 2)}\n`);
  else for (const v of vars) process.stdout.write(`${v.name}=${v.value}\n`);
  return code;
}
