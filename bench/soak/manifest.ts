/**
 * The soak's manifest file: one ClusterIP Service whose named targetPort resolves per Pod (each
 * echo endpoint listens on its own port 0, so no fixed port is ever used), and one Pod per live
 * endpoint. Also the two kinds of broken update the soak writes between good ones: text that is not
 * YAML, and a Service field the API server would refuse.
 *
 * Files are replaced by rename, as editors and `kubectl`-driven tooling do, so the forwarder never
 * reads a half-written file by accident: breakage is always deliberate.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SoakEndpoint {
  id: number;
  ip: string;
  port: number;
}

export const NAMESPACE = 'soak';
export const SERVICE = 'echo';

/** The kinds of broken update, written in turn. */
export const BREAKAGES = ['invalid YAML', 'invalid field'] as const;
export type Breakage = (typeof BREAKAGES)[number];

function service(vip: string, port: number): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${SERVICE}, namespace: ${NAMESPACE} }
spec:
  clusterIP: ${vip}
  selector: { app: echo }
  ports: [{ name: echo, protocol: TCP, port: ${port}, targetPort: echo }]
`;
}

function pod(ep: SoakEndpoint): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: echo-${ep.id}, namespace: ${NAMESPACE}, labels: { app: echo } }
spec: { nodeName: soak-node, containers: [{ name: echo, image: echo, ports: [{ name: echo, containerPort: ${ep.port} }] }] }
status: { phase: Running, podIP: ${ep.ip}, podIPs: [{ ip: ${ep.ip} }], conditions: [{ type: Ready, status: "True" }] }
`;
}

/** The manifest for this set of endpoints. */
export function goodManifest(vip: string, port: number, endpoints: readonly SoakEndpoint[]): string {
  return [service(vip, port), ...endpoints.map(pod)].join('---\n');
}

/**
 * A broken version of the same manifest. `invalid YAML`: cut mid-document with an unclosed flow
 * sequence (what a truncated write or a typo leaves). `invalid field`: the Service's port out of
 * range, which the API server would refuse (spec.ports[0].port: must be between 1 and 65535).
 */
export function brokenManifest(kind: Breakage, vip: string, port: number, endpoints: readonly SoakEndpoint[]): string {
  const good = goodManifest(vip, port, endpoints);
  if (kind === 'invalid YAML') return `${good.slice(0, Math.floor(good.length / 2))}\n  ports: [{ name: echo, port: [\n`;
  return good.replace(`port: ${port}, targetPort`, 'port: 99999, targetPort');
}

/** Replaces `file` atomically (write a sibling outside the watched directory, then rename). */
export function writeManifest(dir: string, scratch: string, text: string): void {
  const tmp = join(scratch, 'next.yaml');
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, 'echo.yaml'));
}
