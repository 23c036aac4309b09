/**
 * `--bind-vips`: a dummy interface holding the Service addresses that are not already local, so
 * the forwarder can bind them (IPVS mode's kube-ipvs0 does the same for its virtual servers).
 * Needs root (CAP_NET_ADMIN). Addresses are added and removed to match the plan; loopback
 * addresses (127.0.0.0/8, ::1) are always local on Linux and are never added.
 *
 * Kernels built without CONFIG_DUMMY ("Unknown device type") get the addresses on `lo` instead,
 * as /32 (/128) entries labelled `lo:<name>` so they can be told apart and removed (IPv6 has no
 * labels: those are tracked in memory).
 */
import { execFile } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import { cidrContains } from '../engine/address.js';

const run = promisify(execFile);

/** Default name, after kube-ipvs0. */
export const DEFAULT_VIP_INTERFACE = 'vipwasm0';

function isLoopback(ip: string): boolean {
  return ip.includes(':') ? ip === '::1' : cidrContains('127.0.0.0/8', ip);
}

async function ip(args: string[]): Promise<string> {
  const { stdout } = await run('ip', args, { timeout: 10_000 });
  return stdout;
}

export class VipInterface {
  /** Addresses this interface holds (canonical text). */
  private held = new Set<string>();
  /** Where the addresses go: the dummy interface, or `lo` with a label when dummy is unsupported. */
  private device: string;
  private label: string | null = null;

  constructor(readonly name: string = DEFAULT_VIP_INTERFACE) {
    this.device = name;
  }

  /** `dummy <name>` or `lo (label lo:<name>)`. */
  get placement(): string {
    return this.label ? `lo (label ${this.label})` : `dummy ${this.name}`;
  }

  /** Creates the dummy interface (idempotent) and learns which addresses it already has. */
  async ensure(): Promise<void> {
    let exists = true;
    try {
      await ip(['link', 'show', 'dev', this.name]);
    } catch {
      exists = false;
    }
    if (!exists) {
      try {
        await ip(['link', 'add', this.name, 'type', 'dummy']);
      } catch (err) {
        if (!String((err as { stderr?: string }).stderr ?? '').includes('Unknown device type')) throw err;
        this.device = 'lo';
        this.label = `lo:${this.name}`.slice(0, 15);
      }
    }
    if (!this.label) await ip(['link', 'set', 'dev', this.name, 'up']);
    const out = await ip(['-j', 'addr', 'show', 'dev', this.device]);
    const parsed = JSON.parse(out) as { addr_info?: { local: string; label?: string }[] }[];
    const mine = (a: { label?: string }): boolean => !this.label || a.label === this.label;
    this.held = new Set(parsed.flatMap((l) => (l.addr_info ?? []).filter(mine).map((a) => a.local)));
  }

  /** Makes the interface hold exactly the non-local addresses of `vips`; returns what changed. */
  async sync(vips: Iterable<string>): Promise<{ added: string[]; removed: string[] }> {
    const local = localAddresses(this.held);
    const want = new Set<string>();
    for (const v of vips) if (!isLoopback(v) && !local.has(v)) want.add(v);
    const added: string[] = [];
    const removed: string[] = [];
    for (const v of want) {
      if (this.held.has(v)) continue;
      const spec = v.includes(':') ? [`${v}/128`, 'nodad'] : [`${v}/32`, ...(this.label ? ['label', this.label] : [])];
      await ip(['addr', 'add', ...spec, 'dev', this.device]);
      this.held.add(v);
      added.push(v);
    }
    for (const v of [...this.held]) {
      if (want.has(v)) continue;
      await ip(['addr', 'del', v.includes(':') ? `${v}/128` : `${v}/32`, 'dev', this.device]).catch(() => undefined);
      this.held.delete(v);
      removed.push(v);
    }
    return { added, removed };
  }

  /** Removes the interface (or, on `lo`, the addresses this forwarder added). */
  async remove(): Promise<void> {
    if (this.label) {
      for (const v of this.held) await ip(['addr', 'del', v.includes(':') ? `${v}/128` : `${v}/32`, 'dev', 'lo']).catch(() => undefined);
    } else {
      await ip(['link', 'del', this.name]).catch(() => undefined);
    }
    this.held.clear();
  }
}

/** Addresses on any interface except the ones this VipInterface added. */
function localAddresses(ours: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!ours.has(a.address)) out.add(a.address);
  }
  return out;
}
