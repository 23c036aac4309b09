/**
 * A minimal DNS client over UDP or TCP (dns-packet for the wire format), for the comparison test
 * and the bench: one query, one decoded reply, with a timeout.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { DecodedPacket, RecordType } from 'dns-packet';

export function encodeQuery(name: string, type: RecordType | string, id = randomInt(0, 65536)): Buffer {
  return dnsPacket.encode({
    id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as RecordType, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: 0 } as never],
  });
}

function viaUdp(server: { host: string; port: number }, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => (s.close(), reject(new Error(`no answer from ${server.host}:${server.port} in ${timeoutMs} ms`))), timeoutMs);
    s.on('message', (m) => {
      if (m.readUInt16BE(0) !== query.readUInt16BE(0)) return;
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(query, server.port, server.host);
  });
}

function viaTcp(server: { host: string; port: number }, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: server.host, port: server.port });
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => (c.destroy(), reject(new Error(`no answer from ${server.host}:${server.port} in ${timeoutMs} ms`))), timeoutMs);
    c.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      c.write(Buffer.concat([len, query]));
    });
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(t);
        c.destroy();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    c.on('error', (err) => (clearTimeout(t), reject(err)));
  });
}

export async function queryDns(server: { host: string; port: number }, name: string, type: RecordType | string, transport: 'udp' | 'tcp' = 'tcp', timeoutMs = 5000): Promise<DecodedPacket> {
  const q = encodeQuery(name, type);
  const reply = transport === 'udp' ? await viaUdp(server, q, timeoutMs) : await viaTcp(server, q, timeoutMs);
  return dnsPacket.decode(reply);
}

export { viaUdp as exchangeUdp };
