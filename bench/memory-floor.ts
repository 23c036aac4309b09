/**
 * The machine's floor for a table of a given size: what one random read into that much memory
 * costs, measured in the same run as the engine cases it is compared with.
 *
 * A new connection or an established-flow lookup over 1M resident flows must read at least one
 * entry at a random place in a table of hundreds of MiB, so no engine can decide faster than one
 * such read. `dependent` chases a single random cycle (each read's address comes from the previous
 * read, as a lookup's entry address comes from its index slot): the latency of one miss, TLB walk
 * included. `independent` reads random places whose addresses do not depend on each other, so the
 * CPU overlaps the misses: the best case for a host that hands the engine many packets at once.
 */

/** Sattolo's shuffle: a permutation that is one cycle through every slot, from a fixed seed. */
function singleCycle(slots: number): Int32Array {
  const next = new Int32Array(slots);
  for (let i = 0; i < slots; i++) next[i] = i;
  let s = 0x2545f491;
  for (let i = slots - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % i;
    const t = next[i]!;
    next[i] = next[j]!;
    next[j] = t;
  }
  return next;
}

export type MemoryFloor = { dependentNs: number; independentNs: number };

/** The two floor loops over one buffer of `bytes`, each a batch of `batch` reads per call. */
export type FloorReads = { bytes: number; dependent: () => void; independent: () => void };

export function floorReads(bytes: number, batch: number): FloorReads {
  const slots = Math.max(1024, Math.floor(bytes / 4));
  const next = singleCycle(slots);
  let p = 0;
  let k = 0;
  let sink = 0;
  return {
    bytes,
    dependent: () => {
      for (let j = 0; j < batch; j++) p = next[p]!;
      if (p === -1) console.log(p); // keeps the chase alive
    },
    independent: () => {
      for (let j = 0; j < batch; j++, k++) sink += next[(Math.imul(k, 2654435761) >>> 1) % slots]!; // >>> 1: an integer %, see engine.ts spread
      if (sink === -1) console.log(sink);
    },
  };
}

/**
 * Measures both floors over `reads` with `measure(name, batch)`, which returns ns per call of a
 * batch of `batch` reads (the caller's tinybench settings and clock).
 */
export async function memoryFloor(
  reads: FloorReads,
  measure: (name: string, fn: () => void) => Promise<number>,
): Promise<MemoryFloor> {
  const dependentNs = await measure('memory-floor dependent-read', reads.dependent);
  const independentNs = await measure('memory-floor independent-read', reads.independent);
  return { dependentNs, independentNs };
}
