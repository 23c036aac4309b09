/**
 * Per-context state of the filter: which root (plugin) a stream belongs to, and the flow key the
 * engine was called with, so the flow can be closed when the stream ends. Fixed-size records in a
 * growable StaticArray, recycled through a free list, so a request costs no GC allocation once
 * the pool has grown to the peak number of concurrent streams.
 *
 *   record (STREAM_WORDS u32):
 *   0 root ctx | 1 flags (1 = flow open) | 2 proto | 3 family | 4..7 src w0..w3 | 8 src port
 *   9..12 dst w0..w3 | 13 dst port | 14 next free | 15 reserved
 */

// @ts-ignore: decorator
@inline export const STREAM_WORDS: i32 = 16;
// @ts-ignore: decorator
@inline export const S_ROOT: i32 = 0;
// @ts-ignore: decorator
@inline export const S_FLAGS: i32 = 1;
// @ts-ignore: decorator
@inline export const S_PROTO: i32 = 2;
// @ts-ignore: decorator
@inline export const S_FAMILY: i32 = 3;
// @ts-ignore: decorator
@inline export const S_SRC: i32 = 4;
// @ts-ignore: decorator
@inline export const S_SPORT: i32 = 8;
// @ts-ignore: decorator
@inline export const S_DST: i32 = 9;
// @ts-ignore: decorator
@inline export const S_DPORT: i32 = 13;
// @ts-ignore: decorator
@inline const S_NEXT: i32 = 14;
// @ts-ignore: decorator
@inline export const FLOW_OPEN: u32 = 1;

let records = new StaticArray<u32>(64 * STREAM_WORDS);
let used: i32 = 0;
let freeHead: i32 = -1;
/** Context id → record index. */
const byContext = new Map<u32, i32>();

/** Registers a stream context of `root`; returns its record. */
export function openStream(ctx: u32, root: u32): i32 {
  let r: i32;
  if (freeHead >= 0) {
    r = freeHead;
    freeHead = <i32>unchecked(records[r * STREAM_WORDS + S_NEXT]);
  } else {
    if ((used + 1) * STREAM_WORDS > records.length) {
      const bigger = new StaticArray<u32>(records.length * 2);
      memory.copy(changetype<usize>(bigger), changetype<usize>(records), <usize>records.length << 2);
      records = bigger;
    }
    r = used++;
  }
  memory.fill(changetype<usize>(records) + (<usize>(r * STREAM_WORDS) << 2), 0, <usize>STREAM_WORDS << 2);
  unchecked((records[r * STREAM_WORDS + S_ROOT] = root));
  byContext.set(ctx, r);
  return r;
}

/** The record of a stream context, or -1 (root contexts and unknown ids). */
export function streamOf(ctx: u32): i32 {
  return byContext.has(ctx) ? byContext.get(ctx) : -1;
}

export function closeStream(ctx: u32): void {
  if (!byContext.has(ctx)) return;
  const r = byContext.get(ctx);
  byContext.delete(ctx);
  unchecked((records[r * STREAM_WORDS + S_NEXT] = <u32>freeHead));
  freeHead = r;
}

// @ts-ignore: decorator
@inline export function streamWord(r: i32, w: i32): u32 {
  return unchecked(records[r * STREAM_WORDS + w]);
}

// @ts-ignore: decorator
@inline export function setStreamWord(r: i32, w: i32, v: u32): void {
  unchecked((records[r * STREAM_WORDS + w] = v));
}

/** Live stream contexts (for tests of context cleanup). */
export function liveStreams(): i32 {
  return byContext.size;
}
