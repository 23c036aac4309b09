/**
 * Malformed and unusual messages never crash the server: undecodable bytes get FORMERR with the
 * query's ID, several questions get FORMERR, other opcodes NOTIMP, replies and runts are dropped,
 * and after thousands of random messages over UDP and TCP the server still answers.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Responder } from '../../host/dns/respond.js';
import { DnsServer } from '../../host/dns/server.js';
import { ClusterZone } from '../../host/dns/zone.js';
import { buildServiceModel } from '../../host/model/index.js';

const { discovery } = buildServiceModel([
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80 }] } },
]);
const responder = new Responder(new ClusterZone(discovery, { clusterDomain: 'cluster.local', ttl: 30, podRecords: 'insecure' }), { upstreams: [] });

function udpExchange(port: number, msg: Buffer, waitMs = 1000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => (s.close(), resolve(null)), waitMs);
    s.on('message', (m) => (clearTimeout(t), s.close(), resolve(m)));
    s.send(msg, port, '127.0.0.1');
  });
}

function query(name: string, id = 4242): Buffer {
  return dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] });
}

function rcodeOf(reply: Buffer): number {
  return reply.readUInt16BE(2) & 0xf;
}

describe('malformed queries', () => {
  const server = new DnsServer(responder);
  let port = 0;
  beforeAll(async () => {
    port = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
  });
  afterAll(() => server.close());

  it('answers undecodable bytes with FORMERR carrying the query ID', async () => {
    const garbage = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]), Buffer.from([0x3f, 0x61])]);
    const reply = (await udpExchange(port, garbage))!;
    expect(reply.readUInt16BE(0)).toBe(0x1234);
    expect(reply.readUInt16BE(2) & 0x8000).toBe(0x8000);
    expect(rcodeOf(reply)).toBe(1);
  });

  it('answers two questions with FORMERR and another opcode with NOTIMP', async () => {
    const two = dnsPacket.encode({ id: 7, type: 'query', questions: [{ name: 'a.cluster.local', type: 'A' }, { name: 'b.cluster.local', type: 'A' }] });
    expect(rcodeOf((await udpExchange(port, two))!)).toBe(1);
    const none = dnsPacket.encode({ id: 8, type: 'query', questions: [] });
    expect(rcodeOf((await udpExchange(port, none))!)).toBe(1);
    const status = Buffer.from(query('web.default.svc.cluster.local'));
    status.writeUInt16BE(status.readUInt16BE(2) | (2 << 11), 2); // opcode STATUS
    expect(rcodeOf((await udpExchange(port, status))!)).toBe(4);
  });

  it('drops runts and replies without answering them', async () => {
    expect(await udpExchange(port, Buffer.from([1, 2, 3]), 300)).toBeNull();
    const asReply = Buffer.from(query('web.default.svc.cluster.local'));
    asReply.writeUInt16BE(asReply.readUInt16BE(2) | 0x8000, 2);
    expect(await udpExchange(port, asReply, 300)).toBeNull();
  });

  it('survives random messages over UDP and TCP and still answers', async () => {
    const messages = fc.sample(fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 300 }),
      // A valid query with random bytes flipped: names, counts and types go wrong in every way.
      fc.tuple(fc.array(fc.tuple(fc.nat(60), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 })).map(([flips]) => {
        const q = Buffer.from(query('web.default.svc.cluster.local', 99));
        for (const [i, v] of flips) q[i % q.length] = v;
        return new Uint8Array(q);
      }),
    ), { numRuns: 2000, seed: 12 });
    let answered = 0;
    for (const m of messages) {
      answered += (await responder.respond(Buffer.from(m), 'udp')) ? 1 : 0;
    }
    expect(answered).toBeGreaterThan(100);
    await new Promise<void>((resolve, reject) => {
      const c = connect({ host: '127.0.0.1', port }, () => {
        for (const m of messages.slice(0, 300)) {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(m.length);
          c.write(Buffer.concat([len, Buffer.from(m)]));
        }
        c.end(() => resolve());
      });
      c.on('error', reject);
    });
    for (const m of messages.slice(0, 300)) await udpExchange(port, Buffer.from(m), 5);
    const reply = dnsPacket.decode((await udpExchange(port, query('web.default.svc.cluster.local', 77)))!);
    expect(reply.id).toBe(77);
    expect(reply.answers?.map((a) => (a as { data?: unknown }).data)).toEqual(['10.96.0.10']);
    expect(server.counters.errors).toBe(0);
  });
});
