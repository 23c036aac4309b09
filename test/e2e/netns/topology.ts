/**
 * A throwaway network for kernel end-to-end tests: namespaces `client`, `node` and three backends,
 * joined to the node by veth pairs, addresses in 198.18.0.0/15 only and no default route anywhere.
 * Every link is dual-stack: the IPv6 addresses are ULAs (fd00:198:18::/48) that exist only inside
 * these namespaces, and IPv6 Service addresses are in fd00:198:19::/64.
 *
 *   client 198.18.1.2 ──c0── node 198.18.1.1 (forwarding; rules applied here)
 *          fd00:198:18:1::2    fd00:198:18:1::1
 *                             ├─b1── 198.18.11.2:8080, fd00:198:18:11::2 backend b1
 *                             ├─b2── 198.18.12.2:8080, fd00:198:18:12::2 backend b2
 *                             └─b3── 198.18.13.2:8080, fd00:198:18:13::2 backend b3
 *
 * Names carry the pid and a random suffix; everything is removed in `destroy()` and, should the test
 * process die first, by an exit hook.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localRunner, mustRun, type Runner } from '../../../host/rules/apply/exec.js';

const here = dirname(fileURLToPath(import.meta.url));

export const NODE_IP = '198.18.1.1';
export const CLIENT_IP = '198.18.1.2';
export const NODE_IP6 = 'fd00:198:18:1::1';
export const CLIENT_IP6 = 'fd00:198:18:1::2';
export const BACKENDS = [
  { name: 'b1', ip: '198.18.11.2', gateway: '198.18.11.1', ip6: 'fd00:198:18:11::2', gateway6: 'fd00:198:18:11::1' },
  { name: 'b2', ip: '198.18.12.2', gateway: '198.18.12.1', ip6: 'fd00:198:18:12::2', gateway6: 'fd00:198:18:12::1' },
  { name: 'b3', ip: '198.18.13.2', gateway: '198.18.13.1', ip6: 'fd00:198:18:13::2', gateway6: 'fd00:198:18:13::1' },
] as const;
/** The IPv6 "pod network" and Service range. */
export const POD_CIDR6 = 'fd00:198:18:8::/61';
export const SERVICE_CIDR6 = 'fd00:198:19::/64';
export const BACKEND_PORT = 8080;
/** The "pod network": backends are inside it, the client is not. */
export const POD_CIDR = '198.18.8.0/21';

export interface Outcome {
  readonly ok?: string;
  readonly error?: string;
  readonly ms: number;
}

/** The backend that answered each connection ("b1"…); throws on the first that failed. */
export function backendsOf(outcomes: Outcome[]): string[] {
  return outcomes.map((o) => {
    if (!o.ok) throw new Error(`connection failed: ${o.error} after ${o.ms} ms`);
    return o.ok.split(' ')[0]!;
  });
}

/** The source address each backend saw (`error:<code>` for a failed connection). */
export function seenSources(outcomes: Outcome[]): string[] {
  return outcomes.map((o) => o.ok?.split(' ')[1] ?? `error:${o.error}`);
}

/** Why kernel tests cannot run here, or undefined. */
export function netnsUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (network namespaces need CAP_NET_ADMIN)';
  for (const tool of ['ip', 'iptables-restore', 'nft', 'conntrack']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed`;
    }
  }
  return undefined;
}

export class Topology {
  readonly id = `vw${process.pid % 100000}${Math.random().toString(36).slice(2, 5)}`;
  readonly client = `${this.id}-client`;
  readonly node = `${this.id}-node`;
  readonly backends = BACKENDS.map((b) => `${this.id}-${b.name}`);
  private readonly servers: ChildProcess[] = [];
  private readonly host: Runner = localRunner();
  private readonly exitHook = () => this.destroySync();

  /** A runner for the node namespace (what the appliers use); generous timeout for 10k-Service restores. */
  readonly nodeRunner: Runner = localRunner(this.node, 900_000);

  private get namespaces(): string[] {
    return [this.client, this.node, ...this.backends];
  }

  async create(): Promise<void> {
    process.once('exit', this.exitHook);
    const ip = (...args: string[]) => mustRun(this.host, 'ip', args);
    for (const ns of this.namespaces) {
      await ip('netns', 'add', ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    await mustRun(this.nodeRunner, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await mustRun(this.nodeRunner, 'sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);

    await ip('-n', this.node, 'link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.client);
    await ip('-n', this.node, 'addr', 'add', `${NODE_IP}/24`, 'dev', 'c0');
    await ip('-n', this.node, 'link', 'set', 'c0', 'up');
    await ip('-n', this.client, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', 'eth0');
    await ip('-n', this.client, 'link', 'set', 'eth0', 'up');
    await ip('-n', this.client, 'route', 'add', '198.18.0.0/15', 'via', NODE_IP);
    // IPv6: nodad, so addresses are usable at once instead of after duplicate address detection.
    await ip('-n', this.node, 'addr', 'add', `${NODE_IP6}/64`, 'dev', 'c0', 'nodad');
    await ip('-n', this.client, 'addr', 'add', `${CLIENT_IP6}/64`, 'dev', 'eth0', 'nodad');
    await ip('-n', this.client, '-6', 'route', 'add', 'fd00:198::/32', 'via', NODE_IP6);
    for (const [i, b] of BACKENDS.entries()) {
      const ns = this.backends[i]!;
      await ip('-n', this.node, 'link', 'add', b.name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      await ip('-n', this.node, 'addr', 'add', `${b.gateway}/24`, 'dev', b.name);
      await ip('-n', this.node, 'link', 'set', b.name, 'up');
      await ip('-n', ns, 'addr', 'add', `${b.ip}/24`, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      await ip('-n', ns, 'route', 'add', '198.18.0.0/15', 'via', b.gateway);
      await ip('-n', this.node, 'addr', 'add', `${b.gateway6}/64`, 'dev', b.name, 'nodad');
      await ip('-n', ns, 'addr', 'add', `${b.ip6}/64`, 'dev', 'eth0', 'nodad');
      await ip('-n', ns, '-6', 'route', 'add', 'fd00:198::/32', 'via', b.gateway6);
      await this.startServer(ns, b.name, b.ip);
      await this.startServer(ns, b.name, b.ip6);
    }
    // Service addresses are routed somewhere, as on a real node (default route): to a neighbour that
    // never answers ARP, so packets the rules do not DNAT still pass the FORWARD chain (where REJECT /
    // DROP happen) and then die. Not out of c0: an ICMP redirect would use up the ICMP rate limit.
    await ip('-n', this.node, 'route', 'add', '198.19.0.0/16', 'via', '198.18.13.250', 'dev', 'b3');
    await ip('-n', this.node, '-6', 'route', 'add', SERVICE_CIDR6, 'via', 'fd00:198:18:13::250', 'dev', 'b3');
    await mustRun(this.nodeRunner, 'sysctl', ['-qw', 'net.ipv4.conf.all.send_redirects=0']);
  }

  private startServer(ns: string, name: string, address: string): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(here, 'server.mjs'), name, address, `${BACKEND_PORT}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.servers.push(child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`backend ${name} did not start`)), 10_000);
      child.once('error', reject);
      createInterface({ input: child.stdout! }).once('line', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** `count` sequential connections from the client namespace. */
  async request(host: string, port: number, count = 1, timeoutMs = 2000): Promise<Outcome[]> {
    const r = await mustRun(this.host, 'ip', ['netns', 'exec', this.client, process.execPath, join(here, 'client.mjs'), host, `${port}`, `${count}`, `${timeoutMs}`]);
    return JSON.parse(r.stdout) as Outcome[];
  }

  /** `count` sequential connections from the node namespace itself (e.g. to a NodePort on 127.0.0.1). */
  async requestFromNode(host: string, port: number, count = 1, timeoutMs = 2000): Promise<Outcome[]> {
    const r = await mustRun(this.host, 'ip', ['netns', 'exec', this.node, process.execPath, join(here, 'client.mjs'), host, `${port}`, `${count}`, `${timeoutMs}`]);
    return JSON.parse(r.stdout) as Outcome[];
  }

  /** `count` UDP datagrams from one client port (one conntrack flow); the replies, or 'TIMEOUT'. */
  async udp(host: string, port: number, sourcePort: number, count: number): Promise<string[]> {
    const r = await mustRun(this.host, 'ip', ['netns', 'exec', this.client, process.execPath, join(here, 'udp-client.mjs'), host, `${port}`, `${sourcePort}`, `${count}`]);
    return JSON.parse(r.stdout) as string[];
  }

  /** One connection held open from the client namespace; `send` returns the echoed line. */
  hold(host: string, port: number): Promise<HeldConnection> {
    const child = spawn('ip', ['netns', 'exec', this.client, process.execPath, join(here, 'holder.mjs'), host, `${port}`], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! });
    const waiting: Array<(line: string) => void> = [];
    lines.on('line', (line) => waiting.shift()?.(line));
    const next = (timeoutMs = 3000) =>
      new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve('TIMEOUT'), timeoutMs);
        waiting.push((line) => {
          clearTimeout(timer);
          resolve(line);
        });
      });
    return next().then((greeting) => ({
      greeting,
      send: (line: string) => {
        const reply = next();
        child.stdin!.write(`${line}\n`);
        return reply;
      },
      close: () => {
        child.stdin!.end();
        child.kill('SIGTERM');
      },
    }));
  }

  /** Forget every conntrack entry in the node namespace (between data-plane modes). */
  async flushConntrack(): Promise<void> {
    await this.nodeRunner.run('conntrack', ['-F']);
  }

  async destroy(): Promise<void> {
    process.removeListener('exit', this.exitHook);
    this.destroySync();
  }

  private destroySync(): void {
    for (const s of this.servers) if (s.exitCode === null) s.kill('SIGTERM');
    this.servers.length = 0;
    for (const ns of this.namespaces) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // Already gone (or never created).
      }
    }
  }
}

export interface HeldConnection {
  readonly greeting: string;
  send(line: string): Promise<string>;
  close(): void;
}
