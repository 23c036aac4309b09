/**
 * `vipwasm envoy-config -f … [-o DIR]`: writes a complete envoy.yaml for these manifests next to a
 * copy of envoy-filter.wasm (or prints the YAML when no directory is given). The snapshot is
 * embedded in the filter configuration; with --snapshot-url the filter also polls `vipwasm serve`.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { encodeSnapshot } from '../../engine/snapshot.js';
import { buildEnvoyConfig, renderEnvoyYaml, type ListenerProtocol } from '../../envoy/envoy-config.js';
import { validateBootstrap } from '../../envoy/envoy-schema.js';
import { snapshotToBase64 } from '../../envoy/filter-config.js';
import { filterWasmPath } from '../../envoy/filter-wasm.js';
import { UsageError } from '../errors.js';
import { reportDiagnostics } from '../report-diagnostics.js';
import { type SourceFlags, addSourceOptions, loadModelOnce, resolveSourceOptions } from '../source-options.js';

interface EnvoyConfigFlags extends SourceFlags {
  outputDir?: string;
  wasmPath?: string;
  admin: string;
  gateway: string;
  protocol: string;
  snapshotUrl?: string;
  pollMs: string;
  clusterDomain: string;
  namespace: string;
  header: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('envoy-config')
    .description('write an envoy.yaml that runs the vipwasm proxy-wasm filter for these Services (with a copy of envoy-filter.wasm)')
    .option('-o, --output-dir <dir>', 'write envoy.yaml and envoy-filter.wasm here (default: print envoy.yaml)')
    .option('--wasm-path <path>', 'envoy-filter.wasm as Envoy sees it (default: <output-dir>/envoy-filter.wasm, or /etc/envoy/envoy-filter.wasm)')
    .option('--admin <ip:port>', 'admin interface address (loopback only)', '127.0.0.1:9901')
    .option('--gateway <ip:port|none>', 'extra HTTP listener routing by :authority alone', '127.0.0.1:10000')
    .option('--protocol <auto|http|tcp>', 'how Service ports are proxied: auto = by port name (http, http-*, http2, grpc*, h2c → HTTP)', 'auto')
    .option('--snapshot-url <url>', 'poll this `vipwasm serve` endpoint for live updates (e.g. http://127.0.0.1:9902/snapshot)')
    .option('--poll-ms <ms>', 'snapshot poll period', '5000')
    .option('--cluster-domain <domain>', 'cluster DNS domain for <svc>.<ns>.svc.<domain> names', 'cluster.local')
    .option('--namespace <ns>', 'namespace of bare <svc> names', 'default')
    .option('--header <name>', 'endpoint header the ORIGINAL_DST cluster reads', 'x-vipwasm-endpoint');
  addSourceOptions(cmd);
  cmd.action(async (flags: EnvoyConfigFlags) => {
    if (!['auto', 'http', 'tcp'].includes(flags.protocol)) throw new UsageError(`--protocol: "${flags.protocol}" is not auto, http or tcp`);
    const pollMs = Number(flags.pollMs);
    if (!Number.isInteger(pollMs) || pollMs < 100) throw new UsageError(`--poll-ms: "${flags.pollMs}" is not an integer ≥ 100`);
    if (!/^[a-z0-9_-]+$/.test(flags.header)) throw new UsageError(`--header: "${flags.header}" is not a lower-case HTTP header name`);
    const settings = resolveSourceOptions(flags);
    const { result, diagnostics } = await loadModelOnce(settings);
    const code = reportDiagnostics(diagnostics);
    if (code) {
      process.exitCode = code;
      return;
    }
    const outDir = flags.outputDir ? resolve(flags.outputDir) : undefined;
    const wasmPath = flags.wasmPath ?? (outDir ? join(outDir, 'envoy-filter.wasm') : '/etc/envoy/envoy-filter.wasm');
    let config;
    try {
      config = buildEnvoyConfig(result.model, {
        wasmPath,
        snapshotBase64: snapshotToBase64(encodeSnapshot(result.model)),
        clusterDomain: flags.clusterDomain,
        namespace: flags.namespace,
        header: flags.header,
        admin: flags.admin,
        gateway: flags.gateway === 'none' ? null : flags.gateway,
        protocol: flags.protocol as ListenerProtocol,
        ...(flags.snapshotUrl ? { snapshotUrl: flags.snapshotUrl } : {}),
        pollMs,
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const errors = validateBootstrap(config.bootstrap);
    if (errors.length) throw new Error(`generated envoy.yaml fails its structure check:\n  ${errors.join('\n  ')}`);
    const yaml = renderEnvoyYaml(config);
    if (!outDir) {
      process.stdout.write(yaml);
      return;
    }
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'envoy.yaml'), yaml);
    copyFileSync(filterWasmPath(), join(outDir, 'envoy-filter.wasm'));
    process.stderr.write(`wrote ${join(outDir, 'envoy.yaml')} (${config.listeners.length} listeners) and ${join(outDir, 'envoy-filter.wasm')}\n`);
    for (const s of config.skipped) process.stderr.write(`skipped ${s}\n`);
  });
}
