/**
 * `vipwasm dns -f <file|dir>... | --kubeconfig <path> [--dns-bind-address host:port] [flags]`:
 * cluster DNS alone (what CoreDNS's `kubernetes` plugin serves), from the same model as every
 * other verb, following it live until SIGTERM/SIGINT.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { serveDns } from '../../dns/serve.js';
import { MemoryAllocationStore } from '../../model/index.js';
import { ModelFeed } from '../../sources/model-feed.js';
import { addDnsFlags, describeDns, resolveDnsFlags, type DnsFlagValues } from '../dns-options.js';
import { UsageError } from '../errors.js';
import { stopSignal } from '../stop-signal.js';
import { LOG_LEVELS, createLogger } from '../forwarder-options.js';
import { reportDiagnostics } from '../report-diagnostics.js';
import { addSourceOptions, createSource, resolveSourceOptions, type SourceFlags } from '../source-options.js';

export function register(program: Command): void {
  const cmd = program.command('dns').description('serve cluster DNS (Kubernetes DNS specification 1.1.0) for the Services of the model');
  addSourceOptions(cmd);
  addDnsFlags(cmd, '127.0.0.1:53');
  cmd.addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'));
  cmd.action(async (flags: SourceFlags & DnsFlagValues & { logLevel: string }) => {
    process.exitCode = await runDns(flags);
  });
}

async function runDns(flags: SourceFlags & DnsFlagValues & { logLevel: string }): Promise<number> {
  const resolved = resolveSourceOptions(flags);
  // DNS answers the same on every node: without --node-name there is no node to look for.
  const settings = flags.nodeName ? resolved : { ...resolved, modelOptions: { ...resolved.modelOptions, nodeName: '' } };
  const dns = resolveDnsFlags(flags);
  if (!dns) throw new UsageError('--dns-bind-address: "off" leaves nothing to serve');
  const log = createLogger(flags.logLevel);
  const source = await createSource(settings, { extraKinds: ['Pod', 'Namespace'] });
  const feed = new ModelFeed(source, { allocationStore: new MemoryAllocationStore(), ...settings.modelOptions });
  const first = await feed.start();
  reportDiagnostics([...first.sourceDiagnostics, ...first.result.diagnostics]);
  let serving;
  try {
    serving = await serveDns(feed, first.result, { ...dns, log });
  } catch (err) {
    await feed.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EACCES' || e.code === 'EADDRINUSE' || e.code === 'EADDRNOTAVAIL') {
      throw new UsageError(`--dns-bind-address: cannot serve on ${flags.dnsBindAddress}: ${e.code}${e.code === 'EACCES' ? ' (ports below 1024 need root; try 127.0.0.1:5353)' : ''}`);
    }
    throw err;
  }
  const services = first.result.discovery.services.length;
  const stopped = stopSignal();
  process.stdout.write(`vipwasm dns: serving ${describeDns(dns, serving.address)}; ${services} Service${services === 1 ? '' : 's'}\n`);
  await stopped;
  await serving.stop();
  await feed.close();
  return 0;
}
