/**
 * Envoy's `set_envoy_filter_state` foreign function (source/extensions/common/wasm/foreign.cc):
 * the argument is the protobuf `SetEnvoyFilterStateArguments { string path = 1; string value = 2;
 * LifeSpan span = 3; }`. Envoy looks up a registered FilterState::ObjectFactory for `path` (NOT_FOUND
 * when none) and builds the object from `value` (BAD_ARGUMENT when the factory rejects it).
 */
import { parseAddress } from '../../engine/address.js';
import { HostState, Status } from './state.js';

/** Keys with an object factory in Envoy (configuration/advanced/well_known_filter_state), and their value checks. */
const FACTORIES: Record<string, (value: string) => boolean> = {
  'envoy.network.transport_socket.original_dst_address': isIpPort,
  'envoy.tcp_proxy.cluster': (v) => v.length > 0,
  'envoy.network.upstream_server_name': (v) => v.length > 0,
  'envoy.network.application_protocols': () => true,
  'envoy.filters.listener.original_dst.local_ip': isIp,
  'envoy.filters.listener.original_dst.remote_ip': isIp,
};

function isIp(v: string): boolean {
  try {
    parseAddress(v);
    return true;
  } catch {
    return false;
  }
}

/** `a.b.c.d:port` or `[v6]:port`, as Envoy's Network::Utility::parseInternetAddressAndPortNoThrow. */
export function isIpPort(v: string): boolean {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(v);
  if (!m) return false;
  const port = Number(m[3]);
  return port <= 65535 && isIp(m[1] ?? m[2]!) && (m[1] === undefined || m[1].includes(':'));
}

interface Fields {
  path: string;
  value: string;
  span: number;
}

/** Minimal protobuf decoding of the three fields; null when malformed. */
export function decodeSetEnvoyFilterStateArguments(bytes: Uint8Array): Fields | null {
  const out: Fields = { path: '', value: '', span: 0 };
  const text = new TextDecoder();
  let i = 0;
  const varint = (): number | null => {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (i >= bytes.length) return null;
      const b = bytes[i++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    return null;
  };
  while (i < bytes.length) {
    const tag = varint();
    if (tag === null) return null;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 2) {
      const len = varint();
      if (len === null || i + len > bytes.length) return null;
      const s = text.decode(bytes.subarray(i, i + len));
      i += len;
      if (field === 1) out.path = s;
      else if (field === 2) out.value = s;
    } else if (wire === 0) {
      const v = varint();
      if (v === null) return null;
      if (field === 3) out.span = v;
    } else {
      return null;
    }
  }
  return out;
}

export function setEnvoyFilterState(host: HostState, args: Uint8Array): number {
  const fields = decodeSetEnvoyFilterStateArguments(args);
  if (!fields) return Status.SerializationFailure;
  const factory = FACTORIES[fields.path];
  if (!factory) return Status.NotFound;
  if (!factory(fields.value)) return Status.BadArgument;
  const stream = host.stream();
  if (!stream) return Status.BadArgument;
  stream.filterState.set(fields.path, { value: fields.value, span: fields.span });
  return Status.Ok;
}
