/**
 * Forwarder end to end on loopback (127.245.3.x backends, 127.97.3.x VIPs): every address kind a
 * Service is reachable on, UDP sessions, and many concurrent TCP connections with byte-exact
 * payloads.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Forwarder } from '../../host/forwarder/forwarder.js';
import { pumpStats, userBuffersSupported } from '../../host/forwarder/socket-pump.js';
import { backend, model, servicePort } from '../forwarder/fixtures.js';
import { eventually, startForwarder, tallies } from './forwarder/harness.js';
import { closeAll, connectOutcome, echoServer, hostnameServer, httpGet, tcpRoundTrip, udpAsk, udpNameServer } from './forwarder/servers.js';

describe('Service addresses', () => {
  it('serves ClusterIP, externalIP, LoadBalancer IP and NodePort on the node IPs inside --nodeport-addresses', async () => {
    const pod = await hostnameServer('127.245.3.21', 9376, 'hostnames-1');
    const f = await startForwarder(
      model(
        [
          servicePort('lb', {
            type: 'LoadBalancer',
            clusterIPs: ['127.97.3.10'],
            externalIPs: ['127.97.3.11'],
            loadBalancerIPs: ['127.97.3.12'],
            nodePort: 30080,
            backends: [backend('127.245.3.21', 9376)],
          }),
        ],
        ['127.245.3.100', '127.245.3.101'],
      ),
      { nodePortAddresses: ['127.245.3.100/32'] },
    );
    try {
      expect(f.boundListeners().sort()).toEqual(['tcp/127.245.3.100:30080', 'tcp/127.97.3.10:80', 'tcp/127.97.3.11:80', 'tcp/127.97.3.12:80']);
      for (const [ip, port] of [['127.97.3.10', 80], ['127.97.3.11', 80], ['127.97.3.12', 80], ['127.245.3.100', 30080]] as const) {
        expect(await httpGet(ip, port)).toBe('<p>The host is hostnames-1</p>');
      }
      // A node IP outside --nodeport-addresses gets no NodePort listener.
      expect(await connectOutcome('127.245.3.101', 30080)).toBe('refused');
      expect(tallies(f, 'default/lb').connections).toBe(4);
    } finally {
      await f.close();
      await pod.stop();
    }
  });
});

describe('UDP', () => {
  const PODS = ['127.245.3.1', '127.245.3.2', '127.245.3.3'];
  let servers: Awaited<ReturnType<typeof udpNameServer>>[] = [];
  let f: Forwarder;
  const clients: dgram.Socket[] = [];
  const client = async (): Promise<dgram.Socket> => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    clients.push(s);
    return s;
  };

  beforeAll(async () => {
    servers = await Promise.all(PODS.map((ip, i) => udpNameServer(ip, 5353, `dns-${i + 1}`)));
    f = await startForwarder(
      model([servicePort('dns', { protocol: 'UDP', port: 53, clusterIPs: ['127.97.3.1'], backends: PODS.map((ip) => backend(ip, 5353)) })]),
      { udpTimeoutMs: 400 },
    );
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await f.close();
    await closeAll(...servers);
  });

  it('answers each client from its own session backend and spreads new clients', async () => {
    const a = await client();
    const b = await client();
    expect(await udpAsk(a, '127.97.3.1', 53, 'q1')).toBe('dns-1:q1');
    expect(await udpAsk(b, '127.97.3.1', 53, 'q1')).toBe('dns-2:q1');
    // The same client stays on its backend; replies reach the right client.
    const [ra, rb] = await Promise.all([udpAsk(a, '127.97.3.1', 53, 'q2'), udpAsk(b, '127.97.3.1', 53, 'q2')]);
    expect([ra, rb]).toEqual(['dns-1:q2', 'dns-2:q2']);
    const t = tallies(f, 'default/dns', 'UDP');
    expect(t.connections).toBe(2);
    expect(t.bytesToClient).toBe(0); // counted when the session ends
  });

  it('bounds the sessions per service address and counts the clients turned away', async () => {
    const capped = await startForwarder(
      model([servicePort('capped', { protocol: 'UDP', port: 53, clusterIPs: ['127.97.3.4'], backends: [backend(PODS[0]!, 5353)] })]),
      { udpMaxSessions: 2 },
    );
    try {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await udpAsk(await client(), '127.97.3.4', 53, `c${i}`, 300));
      expect(answers).toEqual(['dns-1:c0', 'dns-1:c1', null]);
      expect(capped.metrics.snapshot().get('default/capped|UDP')).toMatchObject({ connections: 2, rejectSessionLimit: 1 });
    } finally {
      await capped.close();
    }
  });

  it('moves a busy session off an endpoint the Service lost; other sessions keep their backend', async () => {
    const svc = (pods: string[]) => model([servicePort('dns2', { protocol: 'UDP', port: 53, clusterIPs: ['127.97.3.5'], backends: pods.map((ip) => backend(ip, 5353)) })]);
    const g = await startForwarder(svc(PODS)); // default UDP timeout (300 s): nothing idles out here
    try {
      const a = await client();
      const b = await client();
      expect(await udpAsk(a, '127.97.3.5', 53, 'a1')).toBe('dns-1:a1');
      expect(await udpAsk(b, '127.97.3.5', 53, 'b1')).toBe('dns-2:b1');
      // dns-1 leaves the endpoints (its server still answers, as a pod that is going away may).
      await g.sync(svc(PODS.slice(1)));
      expect(await udpAsk(a, '127.97.3.5', 53, 'a2')).toMatch(/^dns-[23]:a2$/);
      expect(await udpAsk(b, '127.97.3.5', 53, 'b2')).toBe('dns-2:b2');
      expect(tallies(g, 'default/dns2', 'UDP')).toMatchObject({ connections: 3, active: 2 });
    } finally {
      await g.close();
    }
  });

  it('ends an idle session after the UDP timeout; the next datagram is scheduled afresh', async () => {
    const c = await client();
    const first = await udpAsk(c, '127.97.3.1', 53, 'x');
    expect(first).toMatch(/^dns-\d:x$/);
    await eventually(() => tallies(f, 'default/dns', 'UDP').active === 0, 3000);
    const second = await udpAsk(c, '127.97.3.1', 53, 'y');
    expect(second).toMatch(/^dns-\d:y$/);
    expect(second!.split(':')[0]).not.toBe(first!.split(':')[0]);
    expect(tallies(f, 'default/dns', 'UDP').bytesToClient).toBeGreaterThan(0);
  });
});

describe('TCP at volume', () => {
  const PODS = ['127.245.3.11', '127.245.3.12', '127.245.3.13'];
  let echoes: Awaited<ReturnType<typeof echoServer>>[] = [];
  beforeAll(async () => {
    echoes = await Promise.all(PODS.map((ip) => echoServer(ip, 7000)));
  });
  afterAll(() => closeAll(...echoes));

  it('carries 1000 concurrent connections byte-exact, with half-close', async () => {
    const f = await startForwarder(model([servicePort('echo', { port: 7000, clusterIPs: ['127.97.3.2'], backends: PODS.map((ip) => backend(ip, 7000)) })]));
    try {
      const payloads = Array.from({ length: 1000 }, (_, i) => randomBytes(1024 + ((i * 7919) % 7168)));
      const replies = await Promise.all(payloads.map((p) => tcpRoundTrip('127.97.3.2', 7000, p)));
      let exact = 0;
      for (let i = 0; i < payloads.length; i++) if (replies[i]!.equals(payloads[i]!)) exact++;
      expect(exact).toBe(1000);
      expect(echoes.map((e) => e.accepted)).toEqual([334, 333, 333]);
      const total = payloads.reduce((n, p) => n + p.length, 0);
      await eventually(() => tallies(f, 'default/echo').active === 0);
      expect(tallies(f, 'default/echo')).toMatchObject({ connections: 1000, bytesToBackend: total, bytesToClient: total });
      expect(f.engine.stats().flows).toBeGreaterThan(0); // closed flows linger with the tcpfin timeout, as in IPVS
    } finally {
      await f.close();
    }
  });

  it('moves a 16 MiB stream both ways intact (backpressure, reused read buffers)', async () => {
    const f = await startForwarder(model([servicePort('bulk', { port: 7001, clusterIPs: ['127.97.3.3'], backends: [backend(PODS[0]!, 7000)] })]));
    try {
      const big = randomBytes(16 * 1024 * 1024);
      const back = await tcpRoundTrip('127.97.3.3', 7001, big);
      expect(back.length).toBe(big.length);
      expect(back.equals(big)).toBe(true);
      if (userBuffersSupported) expect(pumpStats.bulkSwitches).toBeGreaterThanOrEqual(2);
    } finally {
      await f.close();
    }
  });
});
