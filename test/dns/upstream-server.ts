/**
 * A tiny DNS server on loopback standing in for an upstream resolver in tests (never a real one):
 * it answers A for each name in `records`, NXDOMAIN for anything else, over UDP and TCP, and
 * counts what it was asked.
 */
import * as dnsPacket from 'dns-packet';
import { Responder } from '../../host/dns/respond.js';
import { DnsServer } from '../../host/dns/server.js';
import { ClusterZone } from '../../host/dns/zone.js';

export interface TestUpstream {
  readonly host: string;
  readonly port: number;
  readonly asked: string[];
  stop(): Promise<void>;
}

export async function startUpstream(host: string, records: Record<string, string>): Promise<TestUpstream> {
  const asked: string[] = [];
  const responder = new Responder(new ClusterZone({ services: [], pods: [], namespaces: [] }, { clusterDomain: 'unused.invalid', ttl: 1, podRecords: 'disabled' }), { upstreams: [] });
  responder.respond = async (query: Buffer): Promise<Buffer | null> => {
    const q = dnsPacket.decode(query);
    const question = q.questions![0]!;
    asked.push(`${question.name} ${question.type}`);
    const ip = records[question.name.toLowerCase()];
    const answers = ip && question.type === 'A' ? [{ type: 'A' as const, name: question.name, ttl: 60, class: 'IN' as const, data: ip }] : [];
    return dnsPacket.encode({
      id: q.id, type: 'response', flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (ip ? 0 : 3),
      questions: q.questions, answers,
    });
  };
  const server = new DnsServer(responder);
  const address = await server.listen({ host, port: 0 });
  return { host: address.host, port: address.port, asked, stop: () => server.close() };
}
