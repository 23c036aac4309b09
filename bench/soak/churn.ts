/**
 * The soak's churn: every step one change, in turn — add an endpoint, remove one, break the
 * manifest, fix it — and endpoints removed long enough ago are retired (their pod terminates).
 *
 * Kubernetes semantics decide what counts as a loss: an endpoint removed from the EndpointSlice
 * keeps its established TCP connections while its pod lives (kube-proxy does not flush TCP
 * conntrack entries), so a removed endpoint's process keeps serving until it is retired; the
 * clients are told before a retirement, so only connections whose backend was still alive count
 * as lost. After each change a fresh probe connection checks the Service still answers: a bad
 * update must leave the last good state serving.
 */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { brokenManifest, BREAKAGES, goodManifest, writeManifest, type SoakEndpoint } from './manifest.js';
import { ask } from './processes.js';
import { GREETING_BYTES, type BackendReply, type ClientReply } from './protocol.js';
import { scrape } from './forwarder-process.js';

export interface ChurnConfig {
  vip: string;
  port: number;
  manifestDir: string;
  scratchDir: string;
  backends: ChildProcess[];
  clients: ChildProcess;
  metricsUrl: string;
  /** Endpoints never go below this many. */
  minEndpoints: number;
  retireAfterMs: number;
}

export interface ProbeTally {
  ok: number;
  failed: Record<string, number>;
}

export interface ChurnTally {
  added: number;
  removed: number;
  retired: number;
  /** Connections the retired endpoints still had when their pod went away. */
  retiredConnections: number;
  broken: Record<string, number>;
  /** Probe connections after each kind of change. */
  probes: Record<string, ProbeTally>;
  /** The forwarder's TCP listener count seen while the manifest was broken (should stay 1). */
  listenersWhileBroken: number[];
}

const STEPS = ['add', 'remove', 'break', 'fix'] as const;
/** A probe waits this long after writing the file: the source's 200 ms debounce plus the sync. */
const SETTLE_MS = 1000;

/** Connects, reads the greeting, echoes 64 bytes; resolves with 'ok' or why not (bounded). */
export function probe(ip: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const payload = Buffer.from('soak probe '.repeat(6).slice(0, 64));
    const s = net.connect({ host: ip, port });
    let got = Buffer.alloc(0);
    const done = (r: string): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    s.once('connect', () => s.write(payload));
    s.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (got.length < GREETING_BYTES + payload.length) return;
      done(got.subarray(GREETING_BYTES).equals(payload) ? 'ok' : 'corrupt');
    });
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    s.on('end', () => done('eof'));
  });
}

export class Churn {
  readonly tally: ChurnTally = { added: 0, removed: 0, retired: 0, retiredConnections: 0, broken: {}, probes: {}, listenersWhileBroken: [] };
  readonly active: SoakEndpoint[] = [];
  private readonly removed: { ep: SoakEndpoint; at: number }[] = [];
  private nextId = 1;
  private step = 0;
  private breakage = 0;

  constructor(private readonly c: ChurnConfig) {}

  /** 127.0.x.y per endpoint id: distinct loopback addresses, 250 per /24. */
  private ipFor(id: number): string {
    return `127.0.${1 + Math.floor(id / 250)}.${1 + (id % 250)}`;
  }

  private backendOf(id: number): ChildProcess {
    return this.c.backends[id % this.c.backends.length]!;
  }

  /** Starts a new echo endpoint (not yet in the manifest). */
  async addEndpoint(): Promise<SoakEndpoint> {
    const id = this.nextId++;
    const ip = this.ipFor(id);
    const r = await ask<BackendReply>(this.backendOf(id), { type: 'add', id, ip }, (m) => (m.type === 'added' && m.id === id) || m.type === 'error');
    if (r.type === 'error') throw new Error(r.message);
    const ep = { id, ip, port: (r as { port: number }).port };
    this.active.push(ep);
    return ep;
  }

  writeGood(): void {
    writeManifest(this.c.manifestDir, this.c.scratchDir, goodManifest(this.c.vip, this.c.port, this.active));
  }

  /** One churn step; returns what it did, for the progress log. */
  async next(): Promise<string> {
    const kind = STEPS[this.step++ % STEPS.length]!;
    let label: string = kind;
    if (kind === 'add') {
      await this.addEndpoint();
      this.writeGood();
      this.tally.added++;
    } else if (kind === 'remove') {
      if (this.active.length <= this.c.minEndpoints) return 'remove skipped (at minimum)';
      const ep = this.active.shift()!; // the oldest: it holds the most connections
      this.writeGood();
      this.backendOf(ep.id).send({ type: 'removed', id: ep.id });
      this.removed.push({ ep, at: performance.now() });
      this.tally.removed++;
    } else if (kind === 'break') {
      const b = BREAKAGES[this.breakage++ % BREAKAGES.length]!;
      writeManifest(this.c.manifestDir, this.c.scratchDir, brokenManifest(b, this.c.vip, this.c.port, this.active));
      this.tally.broken[b] = (this.tally.broken[b] ?? 0) + 1;
      label = `break (${b})`;
    } else {
      this.writeGood();
    }
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    if (kind === 'break') {
      const m = await scrape(this.c.metricsUrl);
      this.tally.listenersWhileBroken.push(m?.listeners ?? NaN);
    }
    const p = await probe(this.c.vip, this.c.port);
    const t = (this.tally.probes[label.replace(/ \(.*/, '')] ??= { ok: 0, failed: {} });
    if (p === 'ok') t.ok++;
    else t.failed[`${label}: ${p}`] = (t.failed[`${label}: ${p}`] ?? 0) + 1;
    await this.retireDue();
    return p === 'ok' ? label : `${label}, probe ${p}`;
  }

  /** Pods removed more than retireAfterMs ago terminate; the clients hear it first. */
  async retireDue(all = false): Promise<void> {
    const now = performance.now();
    while (this.removed.length && (all || now - this.removed[0]!.at >= this.c.retireAfterMs)) {
      const { ep } = this.removed.shift()!;
      await ask<ClientReply>(this.c.clients, { type: 'retiring', id: ep.id }, (m) => m.type === 'retiring-ack' && m.id === ep.id);
      const r = await ask<BackendReply>(this.backendOf(ep.id), { type: 'retire', id: ep.id }, (m) => m.type === 'retired' && m.id === ep.id);
      this.tally.retired++;
      this.tally.retiredConnections += (r as { connections: number }).connections;
    }
  }
}
