/**
 * Defensive readers for untyped manifest fields, and the apimachinery `field.Error` message forms
 * (`Invalid value`, `Required value`, `Unsupported value`, `Duplicate value`, `Forbidden`).
 */
import ipaddr from 'ipaddr.js';
import type { Diagnostic, KubeObject, ObjectOrigin } from './types.js';

export type Json = unknown;

export function isRecord(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function record(v: Json): Record<string, Json> {
  return isRecord(v) ? v : {};
}

export function list(v: Json): Json[] {
  return Array.isArray(v) ? v : [];
}

export function text(v: Json): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function stringMap(v: Json): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(record(v))) if (typeof x === 'string') out[k] = x;
  return out;
}

/** Go's %v for a value in an error message: strings quoted, numbers bare, arrays as []string{…}. */
export function goValue(v: Json): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return `[]string{${v.map((x) => JSON.stringify(x)).join(', ')}}`;
  return JSON.stringify(v) ?? String(v);
}

/** Origins are kept beside objects (not inside them) so objects stay plain Kubernetes JSON. */
const origins = new WeakMap<object, ObjectOrigin>();

export function setOrigin(obj: KubeObject, origin: ObjectOrigin): void {
  origins.set(obj, origin);
}

export function originOf(obj: KubeObject): ObjectOrigin | undefined {
  return origins.get(obj);
}

/** `Service "default/web"` (namespaced) or `Node "n1"`. */
export function objectRef(obj: KubeObject, namespaced = true): string {
  const kind = typeof obj.kind === 'string' && obj.kind ? obj.kind : 'Object';
  const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : '';
  const ns = typeof obj.metadata?.namespace === 'string' && obj.metadata.namespace ? obj.metadata.namespace : 'default';
  return namespaced ? `${kind} "${ns}/${name}"` : `${kind} "${name}"`;
}

/** Collects diagnostics for one object; `failed` tells whether an error was reported. */
export class FieldErrors {
  readonly list: Diagnostic[] = [];
  private errors = 0;
  constructor(
    private readonly object: string,
    private readonly origin?: ObjectOrigin,
  ) {}

  get failed(): boolean {
    return this.errors > 0;
  }

  private add(severity: Diagnostic['severity'], field: string, message: string): void {
    if (severity === 'error') this.errors++;
    const d: Diagnostic = this.origin
      ? { severity, object: this.object, field, message, origin: this.origin }
      : { severity, object: this.object, field, message };
    this.list.push(d);
  }

  invalid(field: string, value: Json, detail: string): void {
    this.add('error', field, `Invalid value: ${goValue(value)}: ${detail}`);
  }
  required(field: string, detail = ''): void {
    this.add('error', field, detail ? `Required value: ${detail}` : 'Required value');
  }
  unsupported(field: string, value: Json, supported: readonly string[]): void {
    this.add('error', field, `Unsupported value: ${goValue(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`);
  }
  duplicate(field: string, value: Json): void {
    this.add('error', field, `Duplicate value: ${goValue(value)}`);
  }
  forbidden(field: string, detail: string): void {
    this.add('error', field, `Forbidden: ${detail}`);
  }
  warn(field: string, message: string): void {
    this.add('warning', field, message);
  }
}

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** apimachinery IsDNS1035Label message (Service names). */
export function dns1035Error(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!DNS1035.test(v))
    return "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
  return undefined;
}

/** apimachinery IsDNS1123Label message (namespaces, port names). */
export function dns1123Error(v: string): string | undefined {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!DNS1123.test(v))
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
  return undefined;
}

/** apimachinery IsDNS1123Subdomain message (ExternalName targets). */
export function dns1123SubdomainError(v: string): string | undefined {
  if (v.length > 253) return 'must be no more than 253 characters';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(v))
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  return undefined;
}

/** apimachinery IsValidPortName (IANA_SVC_NAME): named targetPorts and container ports. */
export function portNameError(v: string): string | undefined {
  if (v.length < 1 || v.length > 15) return 'must be no more than 15 characters';
  if (!/^[-a-z0-9]+$/.test(v)) return 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)';
  if (!/[a-z]/.test(v)) return 'must contain at least one letter (a-z)';
  if (v.startsWith('-') || v.endsWith('-')) return 'must not begin or end with a hyphen';
  if (v.includes('--')) return 'must not contain consecutive hyphens';
  return undefined;
}

export const PORT_RANGE_MESSAGE = 'must be between 1 and 65535, inclusive';

export function isPortNumber(v: Json): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

/**
 * An IP address as Kubernetes accepts it: IPv4 in four-part decimal without leading zeros, or
 * IPv6 without a zone. (ipaddr.js's isValid also takes inet_aton shorthands like "1.2.3".)
 */
export function isIP(v: unknown): v is string {
  // IPv6 with an embedded dotted quad (e.g. IPv4-mapped ::ffff:1.2.3.4) is refused, as the apiserver's strict IP validation does.
  return typeof v === 'string' && !v.includes('%') && (ipaddr.IPv4.isValidFourPartDecimal(v) || (v.includes(':') && !v.includes('.') && ipaddr.IPv6.isValid(v)));
}

/** `addr/prefix` with a strict address (see isIP) and a prefix length valid for its family. */
export function isCIDR(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const parts = v.split('/');
  if (parts.length !== 2 || !isIP(parts[0]) || !/^\d{1,3}$/.test(parts[1]!)) return false;
  return Number(parts[1]) <= (parts[0]!.includes(':') ? 128 : 32);
}

const canonicalCache = new Map<string, string | null>();
/** Bound on remembered texts: large clusters repeat the same addresses on every rebuild. */
const CANONICAL_CACHE_MAX = 1 << 18;

/** The canonical text of a strict IP (see isIP), or undefined. Memoised: rebuilds parse the same addresses again and again. */
export function canonicalIP(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  let c = canonicalCache.get(v);
  if (c === undefined) {
    c = isIP(v) ? ipaddr.parse(v).toString() : null;
    if (canonicalCache.size >= CANONICAL_CACHE_MAX) canonicalCache.clear();
    canonicalCache.set(v, c);
  }
  return c ?? undefined;
}
