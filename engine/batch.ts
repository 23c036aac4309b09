/**
 * Batched entry points (issue 10): `lookupMany` and `connectMany` decide for up to MAX_BATCH
 * tuples per host call, for UDP bursts (recvmmsg) and the Envoy filter. Each first hashes every
 * tuple and reads its home bucket, so the CPU overlaps those independent cache misses, then makes
 * the ordinary decisions in order over buckets already in cache, with the hashes computed in the
 * first pass. (A second pass that found each hit's flow to read its member record early paid off
 * only while flows had no decision cache, flows.ts: with one, lookups were 8-10% slower.) The
 * decisions are exactly the one-by-one ones (same calls, same order); only the memory traffic is
 * reordered.
 *
 *   batch region (`batchRegion()`), MAX_BATCH records of BATCH_RECORD_SIZE bytes:
 *   0      4       8       12       16          32       36          52       56    60       64    68     72   76
 *   +------+-------+-------+--------+-----------+--------+-----------+--------+-----+--------+-------+------+-----+
 *   | proto| sport | dport | src fam| src w0..w3| dst fam| dst w0..w3| verdict| via | svc prt| backnd| detail| kind|
 *   +------+-------+-------+--------+-----------+--------+-----------+--------+-----+--------+-------+------+-----+
 *   (verdict… are written by the engine, -1 where absent, as the scratch decision; bytes 76..80
 *   hold the tuple's flow hash between the passes)
 */
import { enter, leave } from './lock';
import * as core from './core';
import { flowHomeWord } from './flows';
import { tupleHash } from './flow-key';
import { MATCH_META } from './layout';
import { matchHome } from './service-table';
import { current } from './state';

/** Most tuples one batched call takes (hosts split longer bursts). */
// @ts-ignore: decorator
@inline export const MAX_BATCH: i32 = 64;
// @ts-ignore: decorator
@inline export const BATCH_RECORD_SIZE: usize = 80;
// @ts-ignore: decorator
@inline const R_PROTO: usize = 0;
// @ts-ignore: decorator
@inline const R_SPORT: usize = 4;
// @ts-ignore: decorator
@inline const R_DPORT: usize = 8;
// @ts-ignore: decorator
@inline const R_SRC: usize = 12;
// @ts-ignore: decorator
@inline const R_DST: usize = 32;
// @ts-ignore: decorator
@inline const R_VERDICT: usize = 52;
/** The flow hash the first pass computed (engine-internal, like the result words). */
// @ts-ignore: decorator
@inline const R_HASH: usize = 76;

/** Bytes of one batch region. */
// @ts-ignore: decorator
@inline export const BATCH_REGION_BYTES: usize = BATCH_RECORD_SIZE * <usize>MAX_BATCH;
/** This instance's region: the static one, or a worker's own (lock.ts, index.ts attachWorker). */
let region: usize = memory.data(<i32>BATCH_REGION_BYTES, 16);

export function useBatchRegion(at: usize): void {
  region = at;
}
/** Keeps the early bucket reads alive (the optimizer may not drop a load whose value is stored). */
let touched: u32 = 0;

export function batchRegion(): usize {
  return region;
}

/**
 * Hashes each of the first `n` records (kept in R_HASH) and reads its home bucket's first word;
 * for new connections (`connect`) also its destination's home match slot, which `core.connect`
 * reads next: every record's misses are then in flight at once, where one by one the match slot's
 * waited for the flow probe of its own record only. The hashes come first, in a pass of their own
 * (the match home's address waits in the record's verdict word, which the decision overwrites):
 * the reads then follow one another a few instructions apart, so the CPU's reorder window holds
 * all of them, where a hash between each two let it overlap only a few.
 */
// @ts-ignore: decorator
@inline function touchHomes(n: i32, connect: bool): void {
  const gen = current;
  for (let k = 0; k < n; k++) {
    const r = region + <usize>k * BATCH_RECORD_SIZE;
    const proto = load<u32>(r, R_PROTO);
    const df = load<u32>(r, R_DST);
    const d0 = load<u32>(r, R_DST + 4);
    const d1 = load<u32>(r, R_DST + 8);
    const d2 = load<u32>(r, R_DST + 12);
    const d3 = load<u32>(r, R_DST + 16);
    const h = tupleHash(proto, load<u32>(r, R_SRC), load<u32>(r, R_SRC + 4), load<u32>(r, R_SRC + 8), load<u32>(r, R_SRC + 12), load<u32>(r, R_SRC + 16),
      load<u32>(r, R_SPORT), df, d0, d1, d2, d3, load<u32>(r, R_DPORT));
    store<u32>(r, h, R_HASH);
    if (connect) store<u32>(r, <u32>matchHome(gen, proto, df, d0, d1, d2, d3, load<u32>(r, R_DPORT)), R_VERDICT);
  }
  let sink: u32 = 0;
  for (let k = 0; k < n; k++) {
    const r = region + <usize>k * BATCH_RECORD_SIZE;
    sink += flowHomeWord(load<u32>(r, R_HASH));
    if (connect) sink += load<u32>(<usize>load<u32>(r, R_VERDICT), MATCH_META << 2);
  }
  touched += sink;
}

// @ts-ignore: decorator
@inline function writeResult(r: usize, verdict: i32): void {
  store<i32>(r, verdict, R_VERDICT);
  store<i32>(r, core.decisionVia, R_VERDICT + 4);
  store<i32>(r, core.decisionServicePort, R_VERDICT + 8);
  store<i32>(r, core.decisionBackend, R_VERDICT + 12);
  store<i32>(r, core.decisionDetail, R_VERDICT + 16);
  store<i32>(r, core.decisionKind, R_VERDICT + 20);
}

// @ts-ignore: decorator
@inline function clampBatch(n: i32): i32 {
  return n < 0 ? 0 : n > MAX_BATCH ? MAX_BATCH : n;
}

/**
 * `core.connect` (or `core.lookup`) for the first `n` records (at most MAX_BATCH), in order, after
 * touching every record's home slot; returns how many. Inlined into each export with `connect`
 * constant, so each keeps a direct call.
 */
// @ts-ignore: decorator
@inline function decideMany(n: i32, nowMs: f64, connect: bool): i32 {
  n = clampBatch(n);
  touchHomes(n, connect);
  for (let k = 0; k < n; k++) {
    const r = region + <usize>k * BATCH_RECORD_SIZE;
    const proto = load<u32>(r, R_PROTO);
    const sf = load<u32>(r, R_SRC);
    const s0 = load<u32>(r, R_SRC + 4);
    const s1 = load<u32>(r, R_SRC + 8);
    const s2 = load<u32>(r, R_SRC + 12);
    const s3 = load<u32>(r, R_SRC + 16);
    const sport = load<u32>(r, R_SPORT);
    const df = load<u32>(r, R_DST);
    const d0 = load<u32>(r, R_DST + 4);
    const d1 = load<u32>(r, R_DST + 8);
    const d2 = load<u32>(r, R_DST + 12);
    const d3 = load<u32>(r, R_DST + 16);
    const dport = load<u32>(r, R_DPORT);
    const h = load<u32>(r, R_HASH);
    // connect: the home match slot touchHomes computed waits in the verdict word until the result.
    writeResult(r, connect
      ? core.connectHashed(h, <usize>load<u32>(r, R_VERDICT), proto, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport, nowMs)
      : core.lookupHashed(h, proto, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport, nowMs));
  }
  return n;
}

/** `core.lookup` for the first `n` records (at most MAX_BATCH), in order; returns how many. */
export function lookupMany(n: i32, nowMs: f64): i32 {
  enter();
  const r = decideMany(n, nowMs, false);
  leave();
  return r;
}

/** `core.connect` for the first `n` records (at most MAX_BATCH), in order; returns how many. */
export function connectMany(n: i32, nowMs: f64): i32 {
  enter();
  const r = decideMany(n, nowMs, true);
  leave();
  return r;
}
