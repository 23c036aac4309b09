/**
 * The forwarder under soak: the real `vipwasm forward` (bin/vipwasm.js over the built dist/) on
 * the soak's manifest directory, metrics on a port the kernel picks. Its structured log (pino
 * JSON on stderr) is tallied so the report can say what it did with each update: synced, or
 * refused a bad one and kept serving.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, type Spawned } from './processes.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ForwarderLog {
  /** Lines per pino level name. */
  levels: Record<string, number>;
  /** "synced: …" lines: model changes applied. */
  syncs: number;
  /** Error lines naming the manifest (a bad update reported). */
  manifestErrors: number;
  /** "keeping its last good … object(s)" warnings: a file that does not parse was held back. */
  keptLastGood: number;
  /** "update refused" warnings: an object an edit made invalid kept its last valid version. */
  refusedUpdates: number;
  /** The last few error/fatal lines, verbatim. */
  lastErrors: string[];
}

export interface SoakForwarder extends Spawned {
  metricsUrl: string;
  log: ForwarderLog;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function tally(log: ForwarderLog, line: string): void {
  let rec: { level?: number; msg?: string };
  try {
    rec = JSON.parse(line) as { level?: number; msg?: string };
  } catch {
    log.levels.unparsed = (log.levels.unparsed ?? 0) + 1;
    return;
  }
  const level = LEVELS[rec.level ?? 0] ?? String(rec.level);
  log.levels[level] = (log.levels[level] ?? 0) + 1;
  const msg = rec.msg ?? '';
  if (msg.startsWith('synced:')) log.syncs++;
  if (msg.includes('keeping its last good')) log.keptLastGood++;
  if (msg.includes('update refused')) log.refusedUpdates++;
  if ((rec.level ?? 0) >= 50) {
    if (msg.includes('echo.yaml') || msg.includes('Service "soak/')) log.manifestErrors++;
    log.lastErrors = [...log.lastErrors, line.slice(0, 400)].slice(-5);
  }
}

/** Starts `vipwasm forward` and resolves once it printed that it serves (bounded). */
/** `nodeArgs` go to node before the script (e.g. `--max-semi-space-size=1` to study V8's heap sizing). */
export async function startForwarder(manifests: string, clusterIpRange: string, nodeArgs: readonly string[] = []): Promise<SoakForwarder> {
  const log: ForwarderLog = { levels: {}, syncs: 0, manifestErrors: 0, keptLastGood: 0, refusedUpdates: 0, lastErrors: [] };
  const argv = [
    process.execPath, ...nodeArgs, join(root, 'bin', 'vipwasm.js'), 'forward', '-f', manifests,
    '--service-cluster-ip-range', clusterIpRange, '--node-name', 'soak-node', '--node-ip', '127.0.0.1',
    '--metrics-bind-address', '127.0.0.1:0', '--healthz-bind-address', 'off', '--log-level', 'info', '--shutdown-grace', '2s',
  ];
  const proc = start('vipwasm forward', argv, { onStderrLine: (l) => tally(log, l) });
  const metricsUrl = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`vipwasm forward did not start within 30 s: ${proc.stderrTail()}`)), 30_000);
    proc.child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /metrics (http:\/\/\S+\/metrics)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    proc.child.once('exit', (code) => reject(new Error(`vipwasm forward exited with ${code}: ${proc.stderrTail()}`)));
  });
  return { ...proc, metricsUrl, log };
}

/** The forwarder's own view: bound TCP listeners and open connections on the soak's Service port. */
export async function scrape(metricsUrl: string): Promise<{ listeners: number; active: number } | null> {
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) })).text();
    const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
    return {
      listeners: value(/^vipwasm_forwarder_listeners\{protocol="TCP"\} (\S+)/m),
      active: value(/^vipwasm_forwarder_active_connections\{[^}]*service_port="soak\/echo[^"]*"[^}]*\} (\S+)/m),
    };
  } catch {
    return null;
  }
}

/** The forwarder's V8 heap (used, total) and external memory in MiB, from its Node process metrics. */
export async function scrapeHeap(metricsUrl: string): Promise<{ heapUsedMiB: number; heapTotalMiB: number; externalMiB: number } | null> {
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) })).text();
    const mib = (name: string): number => Math.round(Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 104857.6) / 10;
    return { heapUsedMiB: mib('nodejs_heap_size_used_bytes'), heapTotalMiB: mib('nodejs_heap_size_total_bytes'), externalMiB: mib('nodejs_external_memory_bytes') };
  } catch {
    return null;
  }
}
