/**
 * Parsing of the request's `:authority` and of Envoy's `ip:port` address properties, on raw bytes
 * (no strings on the request path). Results land in module globals, read right after the call.
 *
 * Service names follow the Kubernetes DNS specification (schema 1.1.0, "A/AAAA records" for
 * ClusterIP Services): `<service>.<ns>.svc.<zone>`; clients also use the search-path short forms
 * `<service>`, `<service>.<ns>` and `<service>.<ns>.svc`. A trailing dot (absolute name) is allowed.
 */

/** What an authority names. */
// @ts-ignore: decorator
@inline export const AUTH_INVALID: i32 = 0;
// @ts-ignore: decorator
@inline export const AUTH_IP: i32 = 1;
// @ts-ignore: decorator
@inline export const AUTH_NAME: i32 = 2;
/** A host name that is not a Service name form (e.g. an external host): route by destination. */
// @ts-ignore: decorator
@inline export const AUTH_OTHER: i32 = 3;

/** The parsed address: family 4 or 6 and four words as host/engine/address.ts `Address`. */
export let ipFamily: u32 = 0;
export let ipW0: u32 = 0;
export let ipW1: u32 = 0;
export let ipW2: u32 = 0;
export let ipW3: u32 = 0;
/** The port, or -1 when the authority has none. */
export let authPort: i32 = -1;
/** The Service name and namespace (nsLen 0 = not given), as pointers into the parsed bytes. */
export let namePtr: usize = 0;
export let nameLen: usize = 0;
export let nsPtr: usize = 0;
export let nsLen: usize = 0;

const V6: usize = memory.data(16);

// @ts-ignore: decorator
@inline function lower(c: u32): u32 {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

function hexValue(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  c = lower(c);
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x61 + 10);
  return -1;
}

/** Dotted-quad IPv4 into *out (big-endian word); false if not exactly a.b.c.d with 0..255 parts. */
function parseV4(ptr: usize, len: usize, out: usize): bool {
  let word: u32 = 0;
  let part: u32 = 0;
  let digits = 0;
  let dots = 0;
  for (let i: usize = 0; i < len; i++) {
    const c = <u32>load<u8>(ptr + i);
    if (c == 0x2e) {
      if (digits == 0 || dots == 3) return false;
      word = (word << 8) | part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits == 3 || (digits > 0 && part == 0)) return false; // no leading zeros, as Go's ParseAddr
      part = part * 10 + (c - 0x30);
      if (part > 255) return false;
      digits++;
    } else {
      return false;
    }
  }
  if (digits == 0 || dots != 3) return false;
  store<u32>(out, (word << 8) | part);
  return true;
}

/** RFC 4291 §2.2 text form (with `::` and an optional trailing dotted quad) into V6 as 8 u16 groups. */
function parseV6(ptr: usize, len: usize): bool {
  let groups = 0;
  let gap = -1;
  let i: usize = 0;
  if (len >= 2 && load<u8>(ptr) == 0x3a && load<u8>(ptr + 1) == 0x3a) {
    gap = 0;
    i = 2;
  } else if (len > 0 && load<u8>(ptr) == 0x3a) {
    return false;
  }
  while (i < len) {
    if (groups == 8) return false;
    // An embedded IPv4 tail takes two groups.
    let j = i;
    let hasDot = false;
    while (j < len && load<u8>(ptr + j) != 0x3a) {
      if (load<u8>(ptr + j) == 0x2e) hasDot = true;
      j++;
    }
    if (hasDot) {
      if (j != len || groups > 6 || !parseV4(ptr + i, j - i, V6 + 12)) return false;
      const w = load<u32>(V6 + 12);
      store<u16>(V6 + (<usize>groups << 1), <u16>(w >> 16));
      store<u16>(V6 + (<usize>(groups + 1) << 1), <u16>(w & 0xffff));
      groups += 2;
      i = j;
      break;
    }
    if (j == i || j - i > 4) return false;
    let v: u32 = 0;
    for (let k = i; k < j; k++) {
      const h = hexValue(<u32>load<u8>(ptr + k));
      if (h < 0) return false;
      v = (v << 4) | <u32>h;
    }
    store<u16>(V6 + (<usize>groups << 1), <u16>v);
    groups++;
    i = j;
    if (i < len) {
      i++; // ':'
      if (i < len && load<u8>(ptr + i) == 0x3a) {
        if (gap >= 0) return false;
        gap = groups;
        i++;
      } else if (i == len) {
        return false;
      }
    }
  }
  if (gap < 0 && groups != 8) return false;
  if (gap >= 0) {
    if (groups > 7) return false;
    const tail = groups - gap;
    const shift = 8 - groups;
    for (let k = tail - 1; k >= 0; k--) store<u16>(V6 + (<usize>(gap + shift + k) << 1), load<u16>(V6 + (<usize>(gap + k) << 1)));
    for (let k = 0; k < shift; k++) store<u16>(V6 + (<usize>(gap + k) << 1), 0);
  }
  ipW0 = (<u32>load<u16>(V6) << 16) | <u32>load<u16>(V6, 2);
  ipW1 = (<u32>load<u16>(V6, 4) << 16) | <u32>load<u16>(V6, 6);
  ipW2 = (<u32>load<u16>(V6, 8) << 16) | <u32>load<u16>(V6, 10);
  ipW3 = (<u32>load<u16>(V6, 12) << 16) | <u32>load<u16>(V6, 14);
  // IPv4-mapped (::ffff:a.b.c.d) is IPv4, as host/engine/address.ts normalises it.
  if (ipW0 == 0 && ipW1 == 0 && ipW2 == 0xffff) {
    ipFamily = 4;
    ipW0 = ipW3;
    ipW2 = 0;
    ipW3 = 0;
  } else {
    ipFamily = 6;
  }
  return true;
}

/** Parses an IPv4 or IPv6 literal (no brackets) into ipFamily/ipW*. */
export function parseIp(ptr: usize, len: usize): bool {
  if (parseV4(ptr, len, V6)) {
    ipFamily = 4;
    ipW0 = load<u32>(V6);
    ipW1 = 0;
    ipW2 = 0;
    ipW3 = 0;
    return true;
  }
  return parseV6(ptr, len);
}

function parsePort(ptr: usize, len: usize): i32 {
  if (len == 0 || len > 5) return -1;
  let v: i32 = 0;
  for (let i: usize = 0; i < len; i++) {
    const c = <i32>load<u8>(ptr + i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + c - 0x30;
  }
  return v > 65535 ? -1 : v;
}

/** Splits `host[:port]` / `[v6][:port]` / bare `v6`; sets authPort and returns the host's length (-1 = invalid). */
function splitHostPort(ptr: usize, len: usize): isize {
  authPort = -1;
  if (len == 0) return -1;
  if (load<u8>(ptr) == 0x5b) {
    let close: usize = 1;
    while (close < len && load<u8>(ptr + close) != 0x5d) close++;
    if (close == len) return -1;
    if (close + 1 < len) {
      if (load<u8>(ptr + close + 1) != 0x3a) return -1;
      authPort = parsePort(ptr + close + 2, len - close - 2);
      if (authPort < 0) return -1;
    }
    return <isize>close; // caller skips the '['
  }
  let colons = 0;
  let last: usize = 0;
  for (let i: usize = 0; i < len; i++) {
    if (load<u8>(ptr + i) == 0x3a) {
      colons++;
      last = i;
    }
  }
  if (colons == 1) {
    authPort = parsePort(ptr + last + 1, len - last - 1);
    if (authPort < 0) return -1;
    return <isize>last;
  }
  return <isize>len;
}

/** `ip:port` or `[v6]:port` (Envoy's source.address / destination.address); false if malformed. */
export function parseIpPort(ptr: usize, len: usize): bool {
  const hostLen = splitHostPort(ptr, len);
  if (hostLen < 0 || authPort < 0) return false;
  if (load<u8>(ptr) == 0x5b) return parseV6(ptr + 1, <usize>hostLen - 1);
  return parseIp(ptr, <usize>hostLen);
}

/** Whether bytes [ptr, ptr+len) end with "." + suffix (case-insensitive). */
function endsWithLabel(ptr: usize, len: usize, suffix: usize, suffixLen: usize): bool {
  if (suffixLen == 0 || len <= suffixLen + 1) return false;
  const start = ptr + len - suffixLen;
  if (load<u8>(start - 1) != 0x2e) return false;
  for (let i: usize = 0; i < suffixLen; i++) {
    if (lower(<u32>load<u8>(start + i)) != lower(<u32>load<u8>(suffix + i))) return false;
  }
  return true;
}

const SVC: usize = memory.data<u8>([0x73, 0x76, 0x63]);

/**
 * Classifies an `:authority` value. For AUTH_NAME the Service name and namespace are left in
 * namePtr/nameLen/nsPtr/nsLen (nsLen 0 for the bare `<service>` form); for AUTH_IP the address in
 * ipFamily/ipW*. `domain` is the cluster domain, e.g. `cluster.local`.
 */
export function parseAuthority(ptr: usize, len: usize, domain: usize, domainLen: usize): i32 {
  let hostLen = splitHostPort(ptr, len);
  if (hostLen < 0) return AUTH_INVALID;
  if (load<u8>(ptr) == 0x5b) return parseV6(ptr + 1, <usize>hostLen - 1) ? AUTH_IP : AUTH_INVALID;
  if (parseIp(ptr, <usize>hostLen)) return AUTH_IP;
  let n = <usize>hostLen;
  if (n > 0 && load<u8>(ptr + n - 1) == 0x2e) n--;
  let strippedSvc = false;
  if (endsWithLabel(ptr, n, domain, domainLen)) {
    n -= domainLen + 1;
    if (!endsWithLabel(ptr, n, SVC, 3)) return AUTH_OTHER;
  }
  if (endsWithLabel(ptr, n, SVC, 3)) {
    n -= 4;
    strippedSvc = true;
  }
  let dot: isize = -1;
  for (let i: usize = 0; i < n; i++) {
    const c = load<u8>(ptr + i);
    if (c == 0x2e) {
      if (dot >= 0) return AUTH_OTHER;
      dot = <isize>i;
    } else if (c == 0x3a || c == 0x2f || c == 0x40 || c <= 0x20) {
      return AUTH_INVALID;
    }
  }
  if (n == 0 || dot == 0 || dot == <isize>n - 1) return AUTH_INVALID;
  if (strippedSvc && dot < 0) return AUTH_OTHER;
  namePtr = ptr;
  if (dot < 0) {
    nameLen = n;
    nsPtr = 0;
    nsLen = 0;
  } else {
    nameLen = <usize>dot;
    nsPtr = ptr + <usize>dot + 1;
    nsLen = n - <usize>dot - 1;
  }
  return AUTH_NAME;
}
