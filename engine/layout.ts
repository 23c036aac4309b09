/**
 * Record layouts of one loaded generation, shared by the decoder, the service table, the
 * schedulers and the flow/affinity tables. Every record is a run of u32 words in a
 * `StaticArray<u32>` (array of structs: one record touches one or two cache lines).
 */

// ---- protocol numbers (IANA), as in snapshots and flow keys --------------------------------------
// @ts-ignore: decorator
@inline export const PROTO_TCP: u32 = 6;
// @ts-ignore: decorator
@inline export const PROTO_UDP: u32 = 17;
// @ts-ignore: decorator
@inline export const PROTO_SCTP: u32 = 132;

// ---- scheduler ids (the snapshot's scheduler byte) ------------------------------------------------
// @ts-ignore: decorator
@inline export const SCHED_RR: u32 = 0;
// @ts-ignore: decorator
@inline export const SCHED_WRR: u32 = 1;
// @ts-ignore: decorator
@inline export const SCHED_LC: u32 = 2;
// @ts-ignore: decorator
@inline export const SCHED_WLC: u32 = 3;
// @ts-ignore: decorator
@inline export const SCHED_SED: u32 = 4;
// @ts-ignore: decorator
@inline export const SCHED_NQ: u32 = 5;
// @ts-ignore: decorator
@inline export const SCHED_DH: u32 = 6;
// @ts-ignore: decorator
@inline export const SCHED_SH: u32 = 7;
// @ts-ignore: decorator
@inline export const SCHED_MH: u32 = 8;
// @ts-ignore: decorator
@inline export const SCHED_RANDOM: u32 = 9;
/** Number of scheduler ids. */
// @ts-ignore: decorator
@inline export const SCHED_COUNT: u32 = 10;

// ---- service port flags (snapshot byte 2 of a service port) --------------------------------------
/** sh-port / mh-port (IP_VS_SVC_F_SCHED2): hash the client's source port too. */
// @ts-ignore: decorator
@inline export const SPF_SCHED_PORT: u32 = 1;
/** sh-fallback / mh-fallback (IP_VS_SVC_F_SCHED1): probe further when the hashed server is unusable. */
// @ts-ignore: decorator
@inline export const SPF_SCHED_FALLBACK: u32 = 2;
/** sessionAffinity: ClientIP. */
// @ts-ignore: decorator
@inline export const SPF_AFFINITY: u32 = 4;
/** externalTrafficPolicy: Local. */
// @ts-ignore: decorator
@inline export const SPF_EXTERNAL_LOCAL: u32 = 8;
/** internalTrafficPolicy: Local. */
// @ts-ignore: decorator
@inline export const SPF_INTERNAL_LOCAL: u32 = 16;
/**
 * Some endpoint of either family is ready, or serving and terminating (the model's hasEndpoints).
 * The engine narrows it to the pool's family when it builds pools (POOL_HAS_ENDPOINTS).
 */
// @ts-ignore: decorator
@inline export const SPF_HAS_ENDPOINTS: u32 = 32;
// @ts-ignore: decorator
@inline export const SPF_ALL: u32 = 63;

// ---- backend flags (snapshot u16 of a backend) ---------------------------------------------------
// @ts-ignore: decorator
@inline export const BF_READY: u32 = 1;
// @ts-ignore: decorator
@inline export const BF_SERVING: u32 = 2;
// @ts-ignore: decorator
@inline export const BF_TERMINATING: u32 = 4;
// @ts-ignore: decorator
@inline export const BF_LOCAL: u32 = 8;
/** In the pool for cluster-internal traffic (ClusterIP). */
// @ts-ignore: decorator
@inline export const BF_CLUSTER: u32 = 16;
/** In the pool for external traffic (NodePort, externalIPs, LoadBalancer ingress). */
// @ts-ignore: decorator
@inline export const BF_EXTERNAL: u32 = 32;
// @ts-ignore: decorator
@inline export const BF_ALL: u32 = 63;

// ---- what kind of address a match hit -----------------------------------------------------------
// @ts-ignore: decorator
@inline export const KIND_CLUSTER_IP: u32 = 0;
// @ts-ignore: decorator
@inline export const KIND_EXTERNAL_IP: u32 = 1;
// @ts-ignore: decorator
@inline export const KIND_LOAD_BALANCER: u32 = 2;
// @ts-ignore: decorator
@inline export const KIND_NODE_PORT: u32 = 3;

// ---- verdicts and how they were reached (host/engine/api.ts Verdict / Via) -----------------------
// @ts-ignore: decorator
@inline export const VERDICT_BACKEND: i32 = 0;
// @ts-ignore: decorator
@inline export const VERDICT_PASS: i32 = 1;
// @ts-ignore: decorator
@inline export const VERDICT_REJECT: i32 = 2;
// @ts-ignore: decorator
@inline export const VERDICT_DROP: i32 = 3;
// @ts-ignore: decorator
@inline export const VIA_NONE: i32 = 0;
// @ts-ignore: decorator
@inline export const VIA_SCHEDULER: i32 = 1;
// @ts-ignore: decorator
@inline export const VIA_FLOW: i32 = 2;
// @ts-ignore: decorator
@inline export const VIA_AFFINITY: i32 = 3;

/*
 * Service port record, SP_WORDS u32 words:
 *
 *   word  0: protocol (8) | scheduler (8) << 8 | flags (8) << 16 | type (8) << 24
 *   word  1: port (16) | nodePort (16) << 16
 *   word  2: affinity timeout in milliseconds
 *   word  3: first pool (one per service address)   word  4: pool count
 *   word  5: first backend (global idx)  word  6: backend count
 *   word  7: first source range          word  8: source range count
 *   word  9: address of namespace's UTF-8 bytes (in `Generation.bytes`, or a delta's bytes kept in
 *            `Generation.arenas`: a pointer, so a service port placed by a delta needs no copy)
 *   word 10: namespace length | name length << 16
 *   word 11: portName length | healthCheckNodePort << 16
 *   word 12: address of the address lists (clusterIPs, externalIPs, LB IPs), as word 9
 *   word 13: clusterIP count | externalIP count << 16     word 14: LB IP count   word 15: reserved
 */
// @ts-ignore: decorator
@inline export const SP_WORDS: i32 = 16;
// @ts-ignore: decorator
@inline export const SP_META: i32 = 0;
// @ts-ignore: decorator
@inline export const SP_PORTS: i32 = 1;
// @ts-ignore: decorator
@inline export const SP_AFFINITY_MS: i32 = 2;
// @ts-ignore: decorator
@inline export const SP_POOL_START: i32 = 3;
// @ts-ignore: decorator
@inline export const SP_POOL_COUNT: i32 = 4;
// @ts-ignore: decorator
@inline export const SP_BACKEND_START: i32 = 5;
// @ts-ignore: decorator
@inline export const SP_BACKEND_COUNT: i32 = 6;
// @ts-ignore: decorator
@inline export const SP_RANGE_START: i32 = 7;
// @ts-ignore: decorator
@inline export const SP_RANGE_COUNT: i32 = 8;
// @ts-ignore: decorator
@inline export const SP_NAME_PTR: i32 = 9;
// @ts-ignore: decorator
@inline export const SP_NAME_LENS: i32 = 10;
// @ts-ignore: decorator
@inline export const SP_PORTNAME_LEN: i32 = 11;
// @ts-ignore: decorator
@inline export const SP_ADDR_PTR: i32 = 12;
// @ts-ignore: decorator
@inline export const SP_ADDR_COUNTS: i32 = 13;
// @ts-ignore: decorator
@inline export const SP_LB_COUNT: i32 = 14;

/*
 * Backend record, B_WORDS u32 words:
 *
 *   word 0: family (4|6)     words 1..4: address words w0..w3 (big-endian word order, as Address)
 *   word 5: port             words 6..11: reserved (the hot fields live in the hot record)
 *   word 12: the snapshot's weight (mh's last_weight lives in the member record)              word 13: fold(address) (dh/sh/mh hashing)
 *   words 14..15: reserved
 *
 * Hot backend record (`Generation.hot`), H_WORDS u32 words: what a flow hit reads (service port,
 * local index), kept apart from the cold record so it touches 32 bytes per backend, not 64.
 *
 *   word 0: weight   word 1: flags (BF_*)   words 2..3: reserved (connection counters live in the
 *   member records only; views.ts sums a backend's over its pools, so a decision writes no hot record)
 *   word 4: service port   word 5: index within its service port   words 6..7: reserved
 */
// @ts-ignore: decorator
@inline export const B_WORDS: i32 = 16;
// @ts-ignore: decorator
@inline export const B_FAMILY: i32 = 0;
// @ts-ignore: decorator
@inline export const B_W0: i32 = 1;
// @ts-ignore: decorator
@inline export const B_PORT: i32 = 5;
// @ts-ignore: decorator
@inline export const B_LAST_WEIGHT: i32 = 12;
// @ts-ignore: decorator
@inline export const H_WORDS: i32 = 8;
// @ts-ignore: decorator
@inline export const H_WEIGHT: i32 = 0;
// @ts-ignore: decorator
@inline export const H_FLAGS: i32 = 1;
// @ts-ignore: decorator
@inline export const H_SP: i32 = 4;
// @ts-ignore: decorator
@inline export const H_LOCAL_INDEX: i32 = 5;
// @ts-ignore: decorator
@inline export const B_FOLD: i32 = 13;

/*
 * Scheduler pool record, POOL_WORDS words: one per service address, i.e. per IPVS virtual service
 * (issue 17): each clusterIP, externalIP and LB ingress IP at the service port, and each node IP
 * at the nodePort, has its own destination list, rr/wrr state, dh/sh/mh table and counters, as
 * kube-proxy's IPVS proxier programs the kernel. The members are the service port's backends of
 * the address's family (kube-proxy runs one proxier per family) in the address's set (cluster for
 * a clusterIP, external otherwise), in kernel list order (pools.ts: the order contract).
 *
 *   word 0: first member slot in `members`   word 1: member count
 *   word 2: scheduler (8) | service port flags (8) << 8
 *   word 3: rr / wrr position: 0 = list head, k = after member k-1 (the last one chosen)
 *   word 4: offset of the pool's dh/sh/mh table in `tables` (u16 entries), or 0xffffffff
 *   word 5: wrr cw (i32)   word 6: wrr mw   word 7: wrr di
 *   word 8: owning service port
 *   word 9: which set: BF_CLUSTER or BF_EXTERNAL
 *   word 10: the virtual service's port (the service port, or the nodePort)
 *   word 11: first backend of the pool's family in its service port (backends are in engine
 *            order, IPv4 before IPv6, so each family is one contiguous range)
 *   word 12: one past the last backend of that range
 *   word 13: 1 when an empty pool means Drop rather than Reject (see pools.ts), else 0
 *   word 14: IP family (4 or 6)
 *   words 15..18: the virtual service's address words w0..w3
 *   word 19: start of the pool's inverse in `memberOf`: backend (word 11 + i) → member slot or -1
 *
 * Records are 80 bytes, so each starts 16-byte aligned and words 0..3 (what rr reads and writes
 * for a new connection) never straddle a cache line (issue 10).
 */
// @ts-ignore: decorator
@inline export const POOL_WORDS: i32 = 20;
// @ts-ignore: decorator
@inline export const POOL_MEMBER_START: i32 = 0;
// @ts-ignore: decorator
@inline export const POOL_MEMBER_COUNT: i32 = 1;
// @ts-ignore: decorator
@inline export const POOL_SCHED: i32 = 2;
// @ts-ignore: decorator
@inline export const POOL_TABLE: i32 = 4;
// @ts-ignore: decorator
@inline export const POOL_POS: i32 = 3;
// @ts-ignore: decorator
@inline export const POOL_CW: i32 = 5;
// @ts-ignore: decorator
@inline export const POOL_MW: i32 = 6;
// @ts-ignore: decorator
@inline export const POOL_DI: i32 = 7;
// @ts-ignore: decorator
@inline export const POOL_SP: i32 = 8;
// @ts-ignore: decorator
@inline export const POOL_SET: i32 = 9;
// @ts-ignore: decorator
@inline export const POOL_VPORT: i32 = 10;
// @ts-ignore: decorator
@inline export const POOL_FAMILY_START: i32 = 11;
// @ts-ignore: decorator
@inline export const POOL_FAMILY_END: i32 = 12;
// @ts-ignore: decorator
@inline export const POOL_HAS_ENDPOINTS: i32 = 13;
// @ts-ignore: decorator
@inline export const POOL_FAMILY: i32 = 14;
// @ts-ignore: decorator
@inline export const POOL_W0: i32 = 15;
// @ts-ignore: decorator
@inline export const POOL_INVERSE: i32 = 19;

/*
 * Member record (`Generation.members`), MEMBER_WORDS words: one destination of one pool, i.e. an
 * `ip_vs_dest` of one virtual service, with its own counters and last_weight. A scheduler scan
 * reads only these records, contiguous per pool.
 *
 *   +---------+--------+--------+-------------+----------+-------------+------+--------------+
 *   | backend | weight | active | local index | inactive | last weight | pool | service port |
 *   +---------+--------+--------+-------------+----------+-------------+------+--------------+
 *   word 0: backend (global index)   word 1: weight   word 2: active conns
 *   word 3: the backend's index within its service port (a copy of H_LOCAL_INDEX)
 *   word 4: inactive conns   word 5: last non-zero weight (mh; the weight given at add time, even 0)
 *   word 6: pool   word 7: the pool's service port (a copy of POOL_SP; records are 32 bytes)
 *
 * What a new TCP connection reads and writes (backend, weight, active, local index) is words 0..3:
 * records start 16-byte aligned, so those 16 bytes never straddle a cache line, and with the
 * local index here the decision waits on no hot backend record (issue 10).
 */
// @ts-ignore: decorator
@inline export const MEMBER_WORDS: i32 = 8;
// @ts-ignore: decorator
@inline export const MEMBER_BACKEND: i32 = 0;
// @ts-ignore: decorator
@inline export const MEMBER_WEIGHT: i32 = 1;
// @ts-ignore: decorator
@inline export const MEMBER_ACTIVE: i32 = 2;
// @ts-ignore: decorator
@inline export const MEMBER_INACTIVE: i32 = 4;
// @ts-ignore: decorator
@inline export const MEMBER_LAST_WEIGHT: i32 = 5;
// @ts-ignore: decorator
@inline export const MEMBER_POOL: i32 = 6;
// @ts-ignore: decorator
@inline export const MEMBER_LOCAL_INDEX: i32 = 3;
/**
 * The member's service port, beside its local index: a flow hit answers from the member record
 * alone (core.ts flowDecision), without the backend's hot record (one dependent read less); an
 * IPv4 flow caches both in its own bucket (flows.ts).
 */
// @ts-ignore: decorator
@inline export const MEMBER_SP: i32 = 7;
/** No table for this pool. */
// @ts-ignore: decorator
@inline export const NO_TABLE: u32 = 0xffffffff;
/** Empty dh/sh/mh bucket. */
// @ts-ignore: decorator
@inline export const EMPTY_BUCKET: u16 = 0xffff;

/*
 * Match slot (service-table.ts), MATCH_WORDS words, one 64-byte cache line: the key, what it
 * matched, and a copy of the matched pool's static fields (first member, member count, table), so
 * a new connection's scheduler reads its members and its dh/sh/mh table without waiting on the
 * pool record (issue 10). The copies are taken when the key is inserted, after its pool is final
 * (a full build inserts keys after the tables; a delta after writing the pools).
 *
 *   words 0..3: address w0..w3   word 4: proto | v6 << 8 | port << 16 (0 = empty slot)
 *   word 5: sp << 2 | kind   word 6: pool   word 7: the service port's meta word (SP_META)
 *   word 8: pool's first member slot   word 9: pool's member count   word 10: pool's table offset
 *   word 11: the pool's rr position (POOL_POS's meaning): rr reads and writes it here, and the
 *            pool record's copy follows through pending.ts, so a new connection writes no pool
 *            record either
 *   word 12: member 0's local index when every member is eligible (weight > 0) and member k's
 *            local index is member 0's + k, else NOT_UNIFORM: rr, dh, sh and mh then know the
 *            member they pick is eligible, and the decision's backend is this + k, without
 *            reading a member line
 *   words 13..15: reserved
 */
// @ts-ignore: decorator
@inline export const MATCH_WORDS: i32 = 16;
// @ts-ignore: decorator
@inline export const MATCH_W0: i32 = 0;
// @ts-ignore: decorator
@inline export const MATCH_META: i32 = 4;
// @ts-ignore: decorator
@inline export const MATCH_VALUE: i32 = 5;
// @ts-ignore: decorator
@inline export const MATCH_POOL: i32 = 6;
// @ts-ignore: decorator
@inline export const MATCH_SP_META: i32 = 7;
// @ts-ignore: decorator
@inline export const MATCH_MEMBER_START: i32 = 8;
// @ts-ignore: decorator
@inline export const MATCH_MEMBER_COUNT: i32 = 9;
// @ts-ignore: decorator
@inline export const MATCH_TABLE: i32 = 10;
// @ts-ignore: decorator
@inline export const MATCH_RR_POS: i32 = 11;
// @ts-ignore: decorator
@inline export const MATCH_UNIFORM_BASE: i32 = 12;
/** MATCH_UNIFORM_BASE of a pool whose members are not all eligible and in local-index order (or with no match slot). */
// @ts-ignore: decorator
@inline export const NOT_UNIFORM: u32 = 0xffffffff;

/** Cache line size hot records are aligned to, in words (64 bytes on x86-64 and arm64). */
// @ts-ignore: decorator
@inline export const LINE_WORDS: i32 = 16;
/**
 * Words allocated past the match slots (service-table.ts) so they can start at a line boundary:
 * array data is only 16-byte aligned (TLSF), so up to 48 bytes may precede the first line.
 */
// @ts-ignore: decorator
@inline export const MATCH_SLACK_WORDS: i32 = 12;

/*
 * Source range record, RANGE_WORDS words: family, w0..w3, prefix length.
 */
// @ts-ignore: decorator
@inline export const RANGE_WORDS: i32 = 6;

/** dh/sh table: 2^8 buckets (IP_VS_DH_TAB_BITS, IP_VS_SH_TAB_BITS default). */
// @ts-ignore: decorator
@inline export const HASH_TAB_BITS: u32 = 8;
// @ts-ignore: decorator
@inline export const HASH_TAB_SIZE: i32 = 256;
/** mh table size M: primes[CONFIG_IP_VS_MH_TAB_INDEX(12) - 8] = 4093 (ip_vs_mh.c). */
// @ts-ignore: decorator
@inline export const MH_TAB_SIZE: i32 = 4093;
/** mh TAB_BITS = CONFIG_IP_VS_MH_TAB_INDEX / 2 = 6. */
// @ts-ignore: decorator
@inline export const MH_TAB_BITS: u32 = 6;
/** Largest pool a table-based scheduler can index (u16 buckets, 0xffff = empty). */
// @ts-ignore: decorator
@inline export const MAX_POOL_MEMBERS: i32 = 0xfffe;
