/**
 * `vipwasm forward -f <file|dir>... | --kubeconfig <path> [flags]`: the Node forwarder, serving
 * every Service address of the model on this machine until SIGTERM/SIGINT, then draining.
 *
 * Prints one summary line on stdout once serving; structured logs (pino, --log-level) go to stderr.
 */
import type { Command } from 'commander';
import { networkInterfaces } from 'node:os';
import { randomHashKey } from '../../engine/engine.js';
import { resolveWorkerCount } from '../../forwarder/workers/worker-count.js';
import { startForwarderEngine } from '../../forwarder/workers/start.js';
import { addForwarderFlags, createLogger, resolveForwarderFlags } from '../forwarder-options.js';
import type { ForwarderFlagValues } from '../forwarder-options.js';
import { serveForwarder } from '../../forwarder/serve.js';
import { UsageError } from '../errors.js';
import { stopSignal } from '../stop-signal.js';
import { serveDns } from '../../dns/serve.js';
import { addDnsFlags, describeDns, resolveDnsFlags, type DnsFlagValues } from '../dns-options.js';
import { addSourceOptions, createSource, resolveSourceOptions } from '../source-options.js';
import type { SourceFlags } from '../source-options.js';

export function register(program: Command): void {
  const cmd = program
    .command('forward')
    .description('forward Service traffic on this machine (userspace L4 proxy driven by the engine)');
  addSourceOptions(cmd);
  addForwarderFlags(cmd);
  addDnsFlags(cmd);
  cmd.action(async (flags: SourceFlags & ForwarderFlagValues & DnsFlagValues) => {
    process.exitCode = await runForward(flags);
  });
}

async function runForward(flags: SourceFlags & ForwarderFlagValues & DnsFlagValues): Promise<number> {
  const resolved = resolveSourceOptions(flags);
  // Without --node-ip or a Node object, NodePorts are served on every local address, as kube-proxy
  // does with an empty --nodeport-addresses.
  const settings = { ...resolved, modelOptions: { ...resolved.modelOptions, localAddresses: localAddresses() } };
  const r = resolveForwarderFlags(flags);
  const dnsOptions = resolveDnsFlags(flags);
  const log = createLogger(r.logLevel);
  // Clients are untrusted: key the flow and affinity hashes with real randomness.
  const workers = resolveWorkerCount(r.workers, log);
  const { engine, plane } = await startForwarderEngine({ ...r.engine, hashKey: randomHashKey() }, workers, { ejectMs: r.forwarder.ejectMs ?? 5000 });
  // Cluster DNS also needs Pods (pod records, hostnames) and Namespaces (NXDOMAIN vs NODATA).
  const source = await createSource(settings, dnsOptions ? { extraKinds: ['Pod', 'Namespace'] } : {});

  let serving;
  try {
    serving = await serveForwarder({
      source,
      engine,
      log,
      model: settings.modelOptions,
      forwarder: { ...r.forwarder, plane },
      metricsAddress: r.metricsAddress,
      healthzAddress: r.healthzAddress,
    });
  } catch (err) {
    await source.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
      throw new UsageError(`cannot serve metrics/healthz: ${e.message} (see --metrics-bind-address, --healthz-bind-address)`);
    }
    throw err;
  }

  let dns;
  if (dnsOptions) {
    try {
      dns = await serveDns(serving.feed, serving.result, { ...dnsOptions, log });
    } catch (err) {
      await serving.stop(0);
      const e = err as NodeJS.ErrnoException;
      throw new UsageError(`--dns-bind-address: cannot serve on ${flags.dnsBindAddress}: ${e.code ?? e.message}${e.code === 'EACCES' ? ' (ports below 1024 need root)' : ''}`);
    }
  }

  const ops: string[] = [];
  if (serving.operations.metrics) ops.push(`metrics http://${serving.operations.metrics}/metrics`);
  if (serving.operations.healthz) ops.push(`healthz http://${serving.operations.healthz}/healthz`);
  if (dns && dnsOptions) ops.push(`dns ${describeDns(dnsOptions, dns.address)}`);
  const d = serving.forwarder.dataPathOptions;
  const stopped = stopSignal();
  process.stdout.write(
    `vipwasm forward: serving ${serving.forwarder.summary()}; scheduler ${settings.modelOptions.defaultScheduler ?? 'rr'}, ` +
      `connect timeout ${d.connectTimeoutMs}ms, ${d.connectRetries} retries, udp timeout ${d.udpTimeoutMs / 1000}s` +
      `${ops.length ? `; ${ops.join(', ')}` : ''}${workers > 1 ? `; ${workers} worker threads` : ''}\n`,
  );
  log.info({ listeners: serving.forwarder.boundListeners() }, 'serving');

  const signal = await stopped;
  log.info({ signal, graceMs: r.shutdownGraceMs, open: serving.forwarder.openConnections }, 'draining');
  await dns?.stop();
  const { aborted } = await serving.stop(r.shutdownGraceMs);
  log.info({ aborted }, 'stopped');
  return 0;
}

/** This machine's unicast addresses (link-local IPv6 left out: it needs a zone to bind). */
function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => !(a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:')))
    .map((a) => a.address);
}
