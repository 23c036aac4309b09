/**
 * Encodes a ServiceModel into the engine's binary snapshot (layout: engine/snapshot.ts and
 * docs/snapshot.md) in one call. Runs off the hot path, once per model change; a host that must
 * keep deciding while a large model encodes uses `SnapshotEncoder` in chunks (as
 * `Engine.loadInSteps` does), which writes the same bytes. Input errors throw an Error naming
 * the service port and field; the engine re-validates everything it is given anyway.
 */
import type { ServiceModel } from './model.js';
import { HEADER_SIZE, SnapshotEncoder, fnv1a } from './snapshot-encoder.js';

export { SNAPSHOT_MAGIC, SNAPSHOT_VERSION, SnapshotEncoder, fnv1a, schedulerId } from './snapshot-encoder.js';

/** Rejection codes of engine/snapshot.ts, with what each means. */
export const SNAPSHOT_ERRORS: Readonly<Record<number, string>> = {
  1: 'snapshot too short for its header',
  2: 'bad magic (not a vipwasm snapshot)',
  3: 'unsupported snapshot version',
  4: 'length field does not match the buffer length',
  5: 'checksum mismatch',
  6: 'a record runs past the end of the snapshot',
  7: 'unknown protocol number',
  8: 'unknown scheduler id',
  9: 'unknown flag bits or non-zero reserved field',
  10: 'bad address family (or IPv4 address with non-zero high words)',
  11: 'source range prefix length too long for its family',
  12: 'port 0',
  13: 'backends not in strictly ascending engine order (address, then port)',
  14: 'record counts do not add up',
  15: 'too many backends in one service port (max 65534)',
  16: 'bad header size or reserved header field',
  17: 'engine not initialized',
  18: 'the serving generation is not the one this delta or staged build started from',
  19: 'delta: bad op (unknown kind, index out of range or named twice, or op and record counts disagree)',
  20: 'delta: only a full snapshot can express it (two service ports claim one match key)',
  21: 'no staged build (superseded by another load or delta, or never begun)',
};

/** Encodes `model` as a snapshot the engine accepts. Throws on input it cannot represent. */
export function encodeSnapshot(model: ServiceModel): Uint8Array {
  const encoder = new SnapshotEncoder(model);
  encoder.measure(Infinity);
  const bytes = new Uint8Array(encoder.byteLength);
  encoder.write(bytes, Infinity);
  return bytes;
}

/** Recomputes the checksum after a deliberate edit (tests of the engine's validation). */
export function resealSnapshot(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(28, fnv1a(bytes.subarray(HEADER_SIZE)), true);
  return bytes;
}
