/**
 * `vipwasm simulate`: the seeds' `for i in {1..10}; do curl …; done` loop, run through the real
 * engine: N new connections to one Service address, from one or many simulated clients, and how
 * they spread over the backends. Connections stay open until the run ends unless --close, so the
 * least-connection schedulers see real counts. Clients are simulated only (no traffic is sent).
 */
import type { Command } from 'commander';
import { type Address, parseAddress } from '../../engine/address.js';
import { Verdict } from '../../engine/api.js';
import { completeConnection } from '../../engine/handshake.js';
import { type ModelServicePort, PROTOCOL_NUMBER, type Protocol, backendKey, servicePortKey } from '../../engine/model.js';
import { loadEngine } from '../../engine/node.js';
import type { ModelResult } from '../../model/index.js';
import { alignColumns } from '../../model/index.js';
import { isIP } from '../../model/fields.js';
import { UsageError } from '../errors.js';
import { reportDiagnostics } from '../report-diagnostics.js';
import { type SourceFlags, addSourceOptions, loadModelOnce, resolveSourceOptions } from '../source-options.js';

export interface Target {
  readonly address: Address;
  readonly port: number;
  readonly protocol: Protocol;
}

const PROTOCOLS: Record<string, Protocol> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

function parsePort(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new UsageError(`${what}: invalid port "${text}"`);
  return n;
}

/** `ip:port[/proto]` (IPv6 as `[ip]:port`), or `ns/name[:port]` naming a Service port (its first clusterIP). */
export function parseTarget(text: string, result: ModelResult): Target {
  // A trailing /tcp|/udp|/sctp is a protocol only after an ip:port (ns/name has a slash too).
  const pm = /^(.*:\d+)\/(tcp|udp|sctp)$/i.exec(text) ?? /^([a-z0-9-]+\/[a-z0-9-]+(?::[a-z0-9-]+)?)\/(tcp|udp|sctp)$/i.exec(text);
  const hostPort = pm ? pm[1]! : text;
  const protocol = pm ? PROTOCOLS[pm[2]!.toLowerCase()] : undefined;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(hostPort) ?? /^([^:/]+):(\d+)$/.exec(hostPort);
  if (m) {
    if (!isIP(m[1])) throw new UsageError(`--to: invalid IP address "${m[1]}" (want ip:port[/proto] or namespace/name[:port])`);
    const address = parseAddress(m[1]);
    return { address, port: parsePort(m[2]!, '--to'), protocol: protocol ?? 'TCP' };
  }
  // A Service by name: ns/name[:portName-or-number], or just name in default.
  const sm = /^(?:([a-z0-9-]+)\/)?([a-z0-9-]+)(?::([a-z0-9-]+))?$/.exec(hostPort);
  if (sm) {
    const [, ns = 'default', name, port] = sm;
    const sp = result.model.servicePorts.find(
      (p) => p.namespace === ns && p.name === name && (port === undefined || p.portName === port || String(p.port) === port) && (!protocol || p.protocol === protocol),
    );
    if (!sp) throw new UsageError(`--to: no Service port "${hostPort}" with a cluster IP in the input`);
    if (!sp.clusterIPs.length) throw new UsageError(`--to: Service port "${servicePortKey(sp)}" has no cluster IP`);
    return { address: parseAddress(sp.clusterIPs[0]!), port: sp.port, protocol: sp.protocol };
  }
  throw new UsageError(`--to: "${text}" is not ip:port[/proto] or namespace/name[:port]`);
}

export interface Client {
  readonly address: Address;
  /** Fixed source port, or undefined for a new ephemeral port per connection. */
  readonly port?: number;
}

/** `--from ip[:port]` → one client; else N clients 198.18.0.1, 198.18.0.2, … (simulated, never contacted). */
export function makeClients(from: string | undefined, count: number): Client[] {
  if (from !== undefined) {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(from) ?? /^([^:]+)(?::(\d+))?$/.exec(from) ?? [from, from, undefined];
    if (!isIP(m[1])) throw new UsageError(`--from: invalid address "${from}" (want ip[:port])`);
    const address = parseAddress(m[1]);
    return [{ address, ...(m[2] ? { port: parsePort(m[2], '--from') } : {}) }];
  }
  return Array.from({ length: count }, (_, i) => {
    const n = 1 + i; // 198.18.0.1 … stays inside 198.18.0.0/15 for count ≤ 131070
    return { address: parseAddress(`198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`) };
  });
}

export interface SimulationDecision {
  readonly client: string;
  readonly backend: string | null;
  readonly result: 'backend' | 'reject' | 'drop';
}

export interface SimulationReport {
  readonly service: string;
  readonly scheduler: string;
  readonly backends: string[];
  readonly decisions: SimulationDecision[];
  readonly counts: Record<string, number>;
}

const EPHEMERAL_FIRST = 32768;
const EPHEMERAL_COUNT = 60999 - 32768 + 1;

/** Run the simulation on a fresh engine loaded with `result.model`. Throws UsageError when nothing matches. */
export async function simulate(result: ModelResult, target: Target, clients: Client[], requests: number, closeEach: boolean): Promise<SimulationReport> {
  const engine = await loadEngine({ seed: 1 });
  engine.load(result.model);
  const proto = PROTOCOL_NUMBER[target.protocol];
  const decisions: SimulationDecision[] = [];
  let sp: ModelServicePort | null = null;
  const t0 = 1_000_000;
  for (let i = 0; i < requests; i++) {
    const c = clients[i % clients.length]!;
    const sport = c.port ?? EPHEMERAL_FIRST + (Math.floor(i / clients.length) % EPHEMERAL_COUNT);
    const now = t0 + i;
    const d = engine.connect(proto, c.address, sport, target.address, target.port, now);
    const client = c.address.family === 6 ? `[${c.address.text}]:${sport}` : `${c.address.text}:${sport}`;
    if (d.verdict === Verdict.Pass) {
      const isNodePort = result.model.servicePorts.some((p) => p.nodePort === target.port && p.protocol === target.protocol);
      const hint = isNodePort && !result.model.nodeIPs.includes(target.address.text)
        ? `; ${target.port} is a NodePort, served only on this node's IPs (${result.model.nodeIPs.join(', ') || 'none: give --node-ip or a Node object'})`
        : '';
      throw new UsageError(`no Service port matches ${target.address.text}:${target.port}/${target.protocol} (try \`vipwasm get services\`)${hint}`);
    }
    sp ??= d.servicePort;
    if (d.verdict === Verdict.Backend && d.backend) {
      decisions.push({ client, backend: backendKey(d.backend), result: 'backend' });
    } else decisions.push({ client, backend: null, result: d.verdict === Verdict.Reject ? 'reject' : 'drop' });
    completeConnection(engine, d, proto, c.address, sport, target.address, target.port, now, closeEach);
  }
  // Each IP family is balanced over its own endpoints only (kube-proxy runs a proxier per family).
  const sameFamily = (ip: string): boolean => ip.includes(':') === (target.address.family === 6);
  const backends = (sp?.backends ?? []).filter((b) => sameFamily(b.ip)).map((b) => backendKey(b));
  const counts: Record<string, number> = Object.fromEntries(backends.map((b) => [b, 0]));
  for (const d of decisions) if (d.backend) counts[d.backend] = (counts[d.backend] ?? 0) + 1;
  return { service: sp ? servicePortKey(sp) : '', scheduler: sp?.scheduler ?? '', backends, decisions, counts };
}

export function formatReport(r: SimulationReport, target: Target, clients: number): string {
  const total = r.decisions.length;
  const share = (n: number): string => `${((100 * n) / total).toFixed(1)}%`;
  const rows = [['BACKEND', 'CONNECTIONS', 'SHARE']];
  for (const b of r.backends) rows.push([b, String(r.counts[b] ?? 0), share(r.counts[b] ?? 0)]);
  for (const kind of ['reject', 'drop'] as const) {
    const n = r.decisions.filter((d) => d.result === kind).length;
    if (n) rows.push([kind === 'reject' ? '(rejected: no endpoints)' : '(dropped by policy)', String(n), share(n)]);
  }
  const to = target.address.family === 6 ? `[${target.address.text}]:${target.port}` : `${target.address.text}:${target.port}`;
  return `${r.service} via ${to}/${target.protocol}, scheduler ${r.scheduler}: ${total} connection(s) from ${clients} client(s)\n${alignColumns(rows, 0, 3)}`;
}

function positiveInt(text: string | undefined, what: string, dflt: number, max: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) throw new UsageError(`${what}: want a whole number from 1 to ${max}, got "${text}"`);
  return n;
}

export function register(program: Command): void {
  const cmd = program
    .command('simulate')
    .description('run simulated new connections to a Service address through the engine and show how they spread over backends')
    .requiredOption('--to <ip:port[/proto]>', 'Service address (clusterIP, nodeIP:nodePort, external or LB IP), or namespace/name[:port]')
    .option('--from <ip[:port]>', 'one client address (and source port)')
    .option('--clients <n>', 'number of distinct simulated clients (198.18.0.1, .2, …)')
    .option('--requests <n>', 'connections to make (default 10)')
    .option('--close', 'close each connection right after it is made (default: all stay open until the end)')
    .option('--json', 'print every decision as JSON');
  addSourceOptions(cmd);
  cmd.action(async (flags: SourceFlags & { to: string; from?: string; clients?: string; requests?: string; close?: boolean; json?: boolean }) => {
    if (flags.from !== undefined && flags.clients !== undefined) throw new UsageError('use either --from or --clients, not both');
    const clients = positiveInt(flags.clients, '--clients', 1, 131070);
    const requests = positiveInt(flags.requests, '--requests', 10, 10_000_000);
    const settings = resolveSourceOptions(flags, { forceScheduler: true });
    const { result, diagnostics } = await loadModelOnce(settings);
    const code = reportDiagnostics(diagnostics);
    const target = parseTarget(flags.to, result);
    const clientList = makeClients(flags.from, clients);
    const report = await simulate(result, target, clientList, requests, flags.close === true);
    process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, target, clientList.length));
    if (code) process.exitCode = code;
  });
}
