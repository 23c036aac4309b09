/**
 * `--bind-vips`: a dummy interface holding the Service addresses that are not already local, so
 * the forwarder can bind them (IPVS mode's kube-ipvs0 does the same for its virtual servers).
 * Needs root (CAP_NET_ADMIN). Addresses are added and removed to match the plan; loopback
 * addresses (127.0.0.0/8, ::1) are always local on Linux and are never added.
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

  constructor(readonly name: string = DEFAULT_VIP_INTERFACE) {}

  /** Creates the dummy interface (idempotent) and learns which addresses it already has. */
  async ensure(): Promise<void> {
    try {
      await ip(['link', 'show', 'dev', this.name]);
    } catch {
      await ip(['link', 'add', this.name, 'type', 'dummy']);
    }
    await ip(['link', 'set', 'dev', this.name, 'up']);
    const out = await ip(['-j', 'addr', 'show', 'dev', this.name]);
    const parsed = JSON.parse(out) as { addr_info?: { local: string }[] }[];
    this.held = new Set(parsed.flatMap((l) => (l.addr_info ?? []).map((a) => a.local)));
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
      await ip(['addr', 'add', ...(v.includes(':') ? [`${v}/128`, 'nodad'] : [`${v}/32`]), 'dev', this.name]);
      this.held.add(v);
      added.push(v);
    }
    for (const v of [...this.held]) {
      if (want.has(v)) continue;
      await ip(['addr', 'del', v.includes(':') ? `${v}/128` : `${v}/32`, 'dev', this.name]).catch(() => undefined);
      this.held.delete(v);
      removed.push(v);
    }
    return { added, removed };
  }

  /** Removes the interface and its addresses. */
  async remove(): Promise<void> {
    await ip(['link', 'del', this.name]).catch(() => undefined);
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
