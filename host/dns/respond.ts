/**
 * One DNS message in, one out (or none): decoding with dns-packet, FORMERR for what does not
 * decode, NOTIMP for other opcodes, EDNS0 payload sizes and truncation (RFC 6891, RFC 2181 §9),
 * forwarding of names outside the cluster zone, REFUSED when there is nowhere to forward to.
 * Never throws for any input bytes: a broken query gets an error reply, never a crash.
 */
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, RecordType } from 'dns-packet';
import { type Rcode, type ZoneAnswer, answerQuestion } from './answer.js';
import { type Upstream, forwardQuery } from './upstream.js';
import type { ClusterZone } from './zone.js';

/** Classic DNS over UDP without EDNS0 (RFC 1035 §4.2.1). */
export const MIN_UDP_PAYLOAD = 512;
/** What this server advertises and the most it sends over UDP (DNS Flag Day 2020). */
export const MAX_UDP_PAYLOAD = 1232;

const RCODE_NUMBER: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

export interface ResponderOptions {
  upstreams: readonly Upstream[];
  readonly upstreamTimeoutMs?: number;
  /** Forwarded queries in flight at most; more get SERVFAIL (each holds a socket). Default 1024. */
  readonly maxForwards?: number;
}

/** Default ResponderOptions.maxForwards. */
export const MAX_FORWARDS = 1024;

export type Transport = 'udp' | 'tcp';

/** Header-only reply for a message that could not be decoded: its ID, opcode and RD kept. */
function headerReply(query: Buffer, rcode: Rcode): Buffer {
  const reply = Buffer.alloc(12);
  reply.writeUInt16BE(query.readUInt16BE(0), 0);
  const flags = query.readUInt16BE(2);
  reply.writeUInt16BE(0x8000 | (flags & 0x7900) | RCODE_NUMBER[rcode], 2);
  return reply;
}

function opt(request: DecodedPacket): { udpPayloadSize: number } | undefined {
  const o = (request.additionals ?? []).find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  return o ? { udpPayloadSize: o.udpPayloadSize ?? MIN_UDP_PAYLOAD } : undefined;
}

function encode(p: Packet): Buffer {
  return dnsPacket.encode(p);
}

/**
 * Fits a UDP reply into `limit` bytes: additional records go first (they are optional), then
 * answer and authority records from the end, with TC set (RFC 2181 §9: the client retries over TCP).
 */
function fit(p: Packet, limit: number): Buffer {
  let out = encode(p);
  if (out.length <= limit) return out;
  const keepOpt = (p.additionals ?? []).filter((a) => a.type === 'OPT');
  p.additionals = keepOpt;
  out = encode(p);
  const answers = [...(p.answers ?? [])];
  const authorities = [...(p.authorities ?? [])];
  while (out.length > limit && (answers.length || authorities.length)) {
    if (authorities.length) authorities.pop();
    else answers.pop();
    p.answers = answers;
    p.authorities = authorities;
    p.flags = (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE;
    out = encode(p);
  }
  return out;
}

function reply(request: DecodedPacket, a: Pick<ZoneAnswer, 'rcode' | 'answers' | 'authorities' | 'additionals'>, authoritative: boolean, transport: Transport): Buffer {
  const edns = opt(request);
  const flags = ((request.flags ?? 0) & 0x7900) | (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | RCODE_NUMBER[a.rcode];
  const additionals: Answer[] = [...a.additionals];
  if (edns) additionals.push({ type: 'OPT', name: '.', udpPayloadSize: MAX_UDP_PAYLOAD, flags: 0 } as Answer);
  const p: Packet = {
    id: request.id, type: 'response', flags,
    questions: request.questions, answers: [...a.answers], authorities: [...a.authorities], additionals,
  };
  if (transport === 'tcp') return encode(p);
  return fit(p, edns ? Math.min(Math.max(edns.udpPayloadSize, MIN_UDP_PAYLOAD), MAX_UDP_PAYLOAD) : MIN_UDP_PAYLOAD);
}

/** The answer records upstream gives for an ExternalName's target (RFC 1034 §3.6.2 chasing). */
async function chase(o: ResponderOptions, name: string, type: RecordType): Promise<Answer[]> {
  const query = dnsPacket.encode({ id: 0, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });
  try {
    const r = dnsPacket.decode(await forwardQuery(o.upstreams, query, 'udp', o.upstreamTimeoutMs));
    return (r.answers ?? []).filter((x) => x.type !== 'OPT');
  } catch {
    return [];
  }
}

export class Responder {
  /** The zone answers come from; replaced whole on every model update. */
  zone: ClusterZone;
  private forwarding = 0;

  constructor(zone: ClusterZone, readonly options: ResponderOptions) {
    this.zone = zone;
  }

  /** The reply to `query`, or null when there must be none (too short to carry an ID, or itself a reply). */
  async respond(query: Buffer, transport: Transport): Promise<Buffer | null> {
    if (query.length < 12) return null;
    let request: DecodedPacket;
    try {
      request = dnsPacket.decode(query);
    } catch {
      return headerReply(query, 'FORMERR');
    }
    if (request.type === 'response') return null;
    if (((request.flags ?? 0) >> 11) & 0xf) return headerReply(query, 'NOTIMP');
    const questions = request.questions ?? [];
    const q = questions[0];
    if (questions.length !== 1 || !q || typeof q.name !== 'string') return headerReply(query, 'FORMERR');
    if (q.class !== 'IN') return reply(request, { rcode: 'REFUSED', answers: [], authorities: [], additionals: [] }, false, transport);
    const zone = this.zone;
    const a = answerQuestion(zone, { name: q.name, type: q.type });
    if ('forward' in a) {
      if (this.options.upstreams.length === 0) {
        return reply(request, a.fallback ?? { rcode: 'REFUSED', answers: [], authorities: [], additionals: [] }, a.fallback !== undefined, transport);
      }
      if (this.forwarding >= (this.options.maxForwards ?? MAX_FORWARDS)) return reply(request, { rcode: 'SERVFAIL', answers: [], authorities: [], additionals: [] }, false, transport);
      this.forwarding++;
      try {
        return await forwardQuery(this.options.upstreams, query, transport, this.options.upstreamTimeoutMs);
      } catch {
        return reply(request, { rcode: 'SERVFAIL', answers: [], authorities: [], additionals: [] }, false, transport);
      } finally {
        this.forwarding--;
      }
    }
    if (a.chase && this.options.upstreams.length > 0) {
      const more = await chase(this.options, a.chase.name, a.chase.type);
      return reply(request, { ...a, answers: [...a.answers, ...more] }, true, transport);
    }
    return reply(request, a, true, transport);
  }
}
