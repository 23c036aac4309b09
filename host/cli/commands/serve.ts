/**
 * `vipwasm serve -f … [--listen 127.0.0.1:9902]`: serves the versioned snapshot the Envoy filter
 * polls (host/envoy/snapshot-server.ts), rebuilt whenever the manifests (or the API server's
 * objects) change. Runs until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { SnapshotServer } from '../../envoy/snapshot-server.js';
import { ModelFeed } from '../../sources/model-feed.js';
import { UsageError } from '../errors.js';
import { stopSignal } from '../stop-signal.js';
import { changedDiagnosticsReporter } from '../report-diagnostics.js';
import { type SourceFlags, addSourceOptions, createSource, resolveSourceOptions } from '../source-options.js';

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--listen: "${text}" is not ip:port`);
  return { host: m[1] ?? m[2]!, port };
}

export function register(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve the engine snapshot over HTTP for the Envoy filter (GET /snapshot with ETag; /healthz)')
    .option('--listen <ip:port>', 'address to listen on', '127.0.0.1:9902');
  addSourceOptions(cmd);
  cmd.action(async (flags: SourceFlags & { listen: string }) => {
    const listen = parseListen(flags.listen);
    const settings = resolveSourceOptions(flags);
    const source = await createSource(settings, { watch: true });
    const feed = new ModelFeed(source, settings.modelOptions);
    const server = new SnapshotServer();
    const first = await feed.start();
    const report = changedDiagnosticsReporter();
    report([...first.sourceDiagnostics, ...first.result.diagnostics]);
    let snap = server.publish(first.result.model);
    feed.subscribe((u) => {
      report([...u.sourceDiagnostics, ...u.result.diagnostics]);
      const next = server.publish(u.result.model);
      if (next.version !== snap.version) process.stderr.write(`snapshot version ${next.version} (${u.result.model.servicePorts.length} service ports)\n`);
      snap = next;
    });
    const addr = await server.listen(listen.host, listen.port);
    const stopped = stopSignal();
    process.stderr.write(`serving snapshot version ${snap.version} on http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}/snapshot\n`);
    await stopped;
    await server.close();
    await source.close();
  });
}
