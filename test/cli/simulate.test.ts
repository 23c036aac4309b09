/** `vipwasm simulate` over the real engine: spreads, affinity, weights, policies, JSON and errors. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

interface Report {
  service: string;
  scheduler: string;
  backends: string[];
  decisions: { client: string; backend: string | null; result: string }[];
  counts: Record<string, number>;
}

async function json(args: string[]): Promise<Report> {
  const r = await runCli(['simulate', '--json', ...args]);
  expect(r.stderr).not.toMatch(/^error/m);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

const hostnames = ['-f', 'examples/hostnames.yaml', '--service-cluster-ip-range', '127.96.0.0/16'];

describe('vipwasm simulate', () => {
  it('spreads the seeds’ curl loop round-robin over the three hostnames Pods', async () => {
    const r = await runCli(['simulate', ...hostnames, '--to', '127.96.59.63:80']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'default/hostnames via 127.96.59.63:80/TCP, scheduler rr: 10 connection(s) from 1 client(s)\n' +
        'BACKEND            CONNECTIONS   SHARE\n' +
        '127.244.0.1:9376   4             40.0%\n' +
        '127.244.0.2:9376   3             30.0%\n' +
        '127.244.0.3:9376   3             30.0%\n',
    );
  });

  it('--json lists every decision in order and the backends in engine order', async () => {
    const r = await json([...hostnames, '--to', 'default/hostnames', '--requests', '4', '--from', '198.18.7.7']);
    // Exactly the documented shape, keys in this order.
    expect(Object.keys(r)).toEqual(['service', 'scheduler', 'backends', 'decisions', 'counts']);
    for (const d of r.decisions) expect(Object.keys(d)).toEqual(['client', 'backend', 'result']);
    expect(r.decisions.map((d) => d.result)).toEqual(['backend', 'backend', 'backend', 'backend']);
    expect(r.service).toBe('default/hostnames');
    expect(r.scheduler).toBe('rr');
    expect(r.backends).toEqual(['127.244.0.1:9376', '127.244.0.2:9376', '127.244.0.3:9376']);
    expect(r.decisions.map((d) => d.client)).toEqual(['198.18.7.7:32768', '198.18.7.7:32769', '198.18.7.7:32770', '198.18.7.7:32771']);
    expect(r.decisions.map((d) => d.backend)).toEqual(['127.244.0.1:9376', '127.244.0.2:9376', '127.244.0.3:9376', '127.244.0.1:9376']);
    expect(r.counts).toEqual({ '127.244.0.1:9376': 2, '127.244.0.2:9376': 1, '127.244.0.3:9376': 1 });
  });

  it('a fixed source port reuses its flow: every request lands on one backend', async () => {
    const r = await json([...hostnames, '--to', '127.96.59.63:80/tcp', '--from', '198.18.7.7:40000', '--requests', '5']);
    expect(new Set(r.decisions.map((d) => d.backend)).size).toBe(1);
  });

  it('ClientIP affinity pins each client to one backend', async () => {
    const r = await json(['-f', 'examples/session-affinity.yaml', '--to', 'default/sticky:http', '--clients', '3', '--requests', '12']);
    const byClient = new Map<string, Set<string | null>>();
    for (const d of r.decisions) {
      const ip = d.client.split(':')[0]!;
      byClient.set(ip, (byClient.get(ip) ?? new Set()).add(d.backend));
    }
    expect(byClient.size).toBe(3);
    for (const s of byClient.values()) expect(s.size).toBe(1);
  });

  it('wrr follows the EndpointSlice weights (3:1); --scheduler overrides the annotation', async () => {
    const wrr = await json(['-f', 'examples/loadbalancer.yaml', '--to', 'default/exampleloadbalancerservice:http', '--clients', '8', '--requests', '8']);
    expect(wrr.scheduler).toBe('wrr');
    expect(wrr.counts).toEqual({ '127.244.5.1:8080': 6, '127.244.5.2:8080': 2 });
    const rr = await json(['-f', 'examples/loadbalancer.yaml', '--to', 'default/exampleloadbalancerservice:http', '--clients', '8', '--requests', '8', '--scheduler', 'rr']);
    expect(rr.scheduler).toBe('rr');
    expect(rr.counts).toEqual({ '127.244.5.1:8080': 4, '127.244.5.2:8080': 4 });
  });

  it('externalTrafficPolicy Local: the NodePort on node-a only reaches node-a’s Pod; node-c drops', async () => {
    const a = await json(['-f', 'examples/local-policy.yaml', '--node-name', 'node-a', '--to', '127.0.0.1:30080', '--clients', '4', '--requests', '8']);
    expect(a.counts).toEqual({ '127.244.4.1:8080': 8, '127.244.4.2:8080': 0, '127.244.4.3:8080': 0 });
    const c = await json(['-f', 'examples/local-policy.yaml', '--node-name', 'node-c', '--node-ip', '127.0.0.3', '--to', '127.0.0.3:30080', '--requests', '2']);
    expect(c.decisions.map((d) => d.result)).toEqual(['drop', 'drop']);
    const warned = await runCli(['simulate', '-f', 'examples/local-policy.yaml', '--node-name', 'node-c', '--node-ip', '127.0.0.3', '--to', '127.0.0.3:30080', '--requests', '1']);
    expect(warned.stderr).toBe('Warning: Node "node-c": not among the 2 Node object(s) in the input: no endpoint is local\n');
  });

  it('the pool-assigned LoadBalancer IP serves clients inside loadBalancerSourceRanges and drops the rest', async () => {
    const lb = ['-f', 'examples/loadbalancer.yaml', '--loadbalancer-ip-pool', '127.240.0.0/28', '--to', '127.240.0.1:8080', '--requests', '4'];
    const inside = await json([...lb, '--from', '127.0.0.9']);
    expect(inside.service).toBe('default/exampleloadbalancerservice:http');
    expect(inside.decisions.map((d) => d.result)).toEqual(['backend', 'backend', 'backend', 'backend']);
    expect(inside.counts).toEqual({ '127.244.5.1:8080': 3, '127.244.5.2:8080': 1 });
    // The simulated clients 198.18.0.x are outside 127.0.0.0/8.
    const outside = await json([...lb, '--clients', '2']);
    expect(outside.decisions).toEqual([
      { client: '198.18.0.1:32768', backend: null, result: 'drop' },
      { client: '198.18.0.2:32768', backend: null, result: 'drop' },
      { client: '198.18.0.1:32769', backend: null, result: 'drop' },
      { client: '198.18.0.2:32769', backend: null, result: 'drop' },
    ]);
    const text = await runCli(['simulate', ...lb, '--clients', '2']);
    expect(text.stdout).toContain('(dropped by policy)   4             100.0%');
  });

  it('a Service without endpoints rejects, as kube-proxy does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vipwasm-sim-'));
    try {
      const f = join(dir, 'empty.yaml');
      writeFileSync(f, 'apiVersion: v1\nkind: Service\nmetadata: {name: empty}\nspec: {clusterIP: 10.96.0.99, selector: {app: none}, ports: [{port: 80}]}\n');
      const r = await json(['-f', f, '--to', '10.96.0.99:80', '--requests', '2']);
      expect(r).toMatchObject({ service: 'default/empty', backends: [], counts: {} });
      expect(r.decisions).toEqual([
        { client: '198.18.0.1:32768', backend: null, result: 'reject' },
        { client: '198.18.0.1:32769', backend: null, result: 'reject' },
      ]);
      const text = await runCli(['simulate', '-f', f, '--to', '10.96.0.99:80', '--requests', '2']);
      expect(text.stdout).toContain('(rejected: no endpoints)   2             100.0%');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('balances each IP family of a dual-stack Service over its own endpoints only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vipwasm-sim-ds-'));
    try {
      const f = join(dir, 'ds.yaml');
      writeFileSync(f, [
        'apiVersion: v1\nkind: Service\nmetadata: {name: ds}\nspec: {ipFamilyPolicy: RequireDualStack, ipFamilies: [IPv4, IPv6], clusterIPs: [10.96.0.50, "fd00:10:96::50"], ports: [{port: 80, targetPort: 8080}]}',
        'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ds-v4, labels: {kubernetes.io/service-name: ds}}\naddressType: IPv4\nports: [{port: 8080}]\nendpoints: [{addresses: [198.18.1.1], conditions: {ready: true}}, {addresses: [198.18.1.2], conditions: {ready: true}}]',
        'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ds-v6, labels: {kubernetes.io/service-name: ds}}\naddressType: IPv6\nports: [{port: 8080}]\nendpoints: [{addresses: ["fd00:244::1"], conditions: {ready: true}}]',
      ].join('\n---\n'));
      const ranges = ['--service-cluster-ip-range', '10.96.0.0/12,fd00:10:96::/108', '--requests', '4'];
      const v4 = await json(['-f', f, ...ranges, '--to', '10.96.0.50:80']);
      expect(v4.backends).toEqual(['198.18.1.1:8080', '198.18.1.2:8080']);
      expect(v4.counts).toEqual({ '198.18.1.1:8080': 2, '198.18.1.2:8080': 2 });
      const v6 = await json(['-f', f, ...ranges, '--to', '[fd00:10:96::50]:80']);
      expect(v6.backends).toEqual(['[fd00:244::1]:8080']);
      expect(v6.counts).toEqual({ '[fd00:244::1]:8080': 4 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('connections stay open unless --close: lc spreads open UDP flows, but always picks the first idle backend when each closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vipwasm-sim-'));
    try {
      const f = join(dir, 'dns.yaml');
      writeFileSync(f, 'apiVersion: v1\nkind: Service\nmetadata: {name: dns}\nspec: {clusterIP: 10.96.0.53, ports: [{port: 53, protocol: UDP}]}\n---\n' +
        'apiVersion: v1\nkind: Endpoints\nmetadata: {name: dns}\nsubsets: [{addresses: [{ip: 10.244.0.1}, {ip: 10.244.0.2}, {ip: 10.244.0.3}], ports: [{port: 53, protocol: UDP}]}]\n');
      const open = await json(['-f', f, '--to', '10.96.0.53:53/udp', '--scheduler', 'lc', '--requests', '6']);
      expect(open.counts).toEqual({ '10.244.0.1:53': 2, '10.244.0.2:53': 2, '10.244.0.3:53': 2 });
      const closed = await json(['-f', f, '--to', '10.96.0.53:53/udp', '--scheduler', 'lc', '--requests', '6', '--close']);
      expect(closed.counts).toEqual({ '10.244.0.1:53': 6, '10.244.0.2:53': 0, '10.244.0.3:53': 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 with a clear message for a target no Service port matches and for conflicting flags', async () => {
    const miss = await runCli(['simulate', ...hostnames, '--to', '127.96.59.63:81']);
    expect(miss).toMatchObject({ code: 2, stderr: 'error: no Service port matches 127.96.59.63:81/TCP (try `vipwasm get services`)\n' });
    const np = await runCli(['simulate', '-f', 'examples/nodeport.yaml', '--to', '127.0.0.1:30007']);
    expect(np.stderr).toBe("error: no Service port matches 127.0.0.1:30007/TCP (try `vipwasm get services`); 30007 is a NodePort, served only on this node's IPs (none: give --node-ip or a Node object)\n");
    expect((await json(['-f', 'examples/nodeport.yaml', '--node-ip', '127.0.0.1', '--to', '127.0.0.1:30007', '--requests', '2'])).service).toBe('default/service-nodeport');
    expect((await runCli(['simulate', ...hostnames, '--to', '1.2.3:80'])).stderr).toBe('error: --to: invalid IP address "1.2.3" (want ip:port[/proto] or namespace/name[:port])\n');
    expect((await runCli(['simulate', ...hostnames, '--to', 'default/hostnames', '--from', '198.18.0.1', '--clients', '2'])).stderr).toBe('error: use either --from or --clients, not both\n');
    expect((await runCli(['simulate', ...hostnames, '--to', 'default/hostnames', '--requests', '0'])).code).toBe(2);
  });
});
