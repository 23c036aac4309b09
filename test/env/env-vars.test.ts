/**
 * Service environment variables by kubelet's rules (pkg/kubelet/envvars FromServices and
 * kubelet_pods.go getServiceEnvVarMap, Kubernetes v1.37.2): the first test is kubelet's own
 * TestFromServices table (IPv6 ClusterIPs in the model's canonical lower case); the others cover
 * which Services a pod sees and the `vipwasm env` verb.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type KubeObject, buildServiceModel, envVariableName, namespaceEnvVars, podEnvVars } from '../../host/model/index.js';
import { runCli } from '../cli/run-cli.js';

function service(name: string, clusterIP: string, ports: object[], namespace = 'default', extra: object = {}, created?: string): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, ...(created ? { creationTimestamp: created } : {}) },
    spec: { selector: { bar: 'baz' }, clusterIP, ports, ...extra },
  };
}

const objects: KubeObject[] = [
  service('kubernetes', '10.0.0.1', [{ name: 'https', port: 443 }], 'default', {}, '2026-01-01T00:00:00Z'),
  service('web', '10.0.0.10', [{ port: 80 }], 'shop', {}, '2026-01-02T00:00:00Z'),
  service('late', '10.0.0.11', [{ port: 81 }], 'shop', {}, '2026-03-01T00:00:00Z'),
  service('headless', 'None', [{ port: 82 }], 'shop'),
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: 'shop' }, spec: { type: 'ExternalName', externalName: 'example.test' } },
  service('other', '10.0.0.12', [{ port: 83 }], 'elsewhere'),
  {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client', namespace: 'shop', creationTimestamp: '2026-02-01T00:00:00Z' },
    spec: { containers: [{ name: 'c', image: 'x' }] }, status: { phase: 'Running', podIP: '10.244.0.5', startTime: '2026-02-01T00:00:05Z' },
  },
  {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'no-links', namespace: 'shop' },
    spec: { enableServiceLinks: false, containers: [{ name: 'c', image: 'x' }] }, status: { phase: 'Running', podIP: '10.244.0.6' },
  },
];

describe('kubelet Service environment variables', () => {
  it('reproduces kubelet\'s TestFromServices table', () => {
    const { discovery } = buildServiceModel([
      service('foo-bar', '10.0.2.4', [{ port: 8080, protocol: 'TCP' }]),
      service('abc-123', '10.0.6.8', [{ name: 'u-d-p', port: 8081, protocol: 'UDP' }, { name: 't-c-p', port: 8081, protocol: 'TCP' }]),
      service('q-u-u-x', '10.0.8.6', [{ name: 'http', port: 8082, protocol: 'TCP' }, { name: '8083', port: 8083, protocol: 'TCP' }]),
      service('svrc-clusterip-none', 'None', [{ port: 8082, protocol: 'TCP' }]),
      service('super-ipv6', '2001:DB8::10', [{ name: 'u-d-p', port: 8084, protocol: 'UDP' }, { name: 't-c-p', port: 8084, protocol: 'TCP' }], 'default', { ipFamilies: ['IPv6'] }),
      service('sctp-1', '10.0.2.5', [{ port: 777, protocol: 'SCTP' }]),
    ], { serviceClusterIPRanges: ['10.0.0.0/16', '2001:db8::/112'] });
    const got = namespaceEnvVars(discovery, 'default');
    const expected: Record<string, string> = {
      FOO_BAR_SERVICE_HOST: '10.0.2.4', FOO_BAR_SERVICE_PORT: '8080', FOO_BAR_PORT: 'tcp://10.0.2.4:8080',
      FOO_BAR_PORT_8080_TCP: 'tcp://10.0.2.4:8080', FOO_BAR_PORT_8080_TCP_PROTO: 'tcp', FOO_BAR_PORT_8080_TCP_PORT: '8080', FOO_BAR_PORT_8080_TCP_ADDR: '10.0.2.4',
      ABC_123_SERVICE_HOST: '10.0.6.8', ABC_123_SERVICE_PORT: '8081', ABC_123_SERVICE_PORT_U_D_P: '8081', ABC_123_SERVICE_PORT_T_C_P: '8081',
      ABC_123_PORT: 'udp://10.0.6.8:8081', ABC_123_PORT_8081_UDP: 'udp://10.0.6.8:8081', ABC_123_PORT_8081_UDP_PROTO: 'udp',
      ABC_123_PORT_8081_UDP_PORT: '8081', ABC_123_PORT_8081_UDP_ADDR: '10.0.6.8', ABC_123_PORT_8081_TCP: 'tcp://10.0.6.8:8081',
      ABC_123_PORT_8081_TCP_PROTO: 'tcp', ABC_123_PORT_8081_TCP_PORT: '8081', ABC_123_PORT_8081_TCP_ADDR: '10.0.6.8',
      Q_U_U_X_SERVICE_HOST: '10.0.8.6', Q_U_U_X_SERVICE_PORT: '8082', Q_U_U_X_SERVICE_PORT_HTTP: '8082', Q_U_U_X_SERVICE_PORT_8083: '8083',
      Q_U_U_X_PORT: 'tcp://10.0.8.6:8082', Q_U_U_X_PORT_8082_TCP: 'tcp://10.0.8.6:8082', Q_U_U_X_PORT_8082_TCP_PROTO: 'tcp',
      Q_U_U_X_PORT_8082_TCP_PORT: '8082', Q_U_U_X_PORT_8082_TCP_ADDR: '10.0.8.6', Q_U_U_X_PORT_8083_TCP: 'tcp://10.0.8.6:8083',
      Q_U_U_X_PORT_8083_TCP_PROTO: 'tcp', Q_U_U_X_PORT_8083_TCP_PORT: '8083', Q_U_U_X_PORT_8083_TCP_ADDR: '10.0.8.6',
      SUPER_IPV6_SERVICE_HOST: '2001:db8::10', SUPER_IPV6_SERVICE_PORT: '8084', SUPER_IPV6_SERVICE_PORT_U_D_P: '8084', SUPER_IPV6_SERVICE_PORT_T_C_P: '8084',
      SUPER_IPV6_PORT: 'udp://[2001:db8::10]:8084', SUPER_IPV6_PORT_8084_UDP: 'udp://[2001:db8::10]:8084', SUPER_IPV6_PORT_8084_UDP_PROTO: 'udp',
      SUPER_IPV6_PORT_8084_UDP_PORT: '8084', SUPER_IPV6_PORT_8084_UDP_ADDR: '2001:db8::10', SUPER_IPV6_PORT_8084_TCP: 'tcp://[2001:db8::10]:8084',
      SUPER_IPV6_PORT_8084_TCP_PROTO: 'tcp', SUPER_IPV6_PORT_8084_TCP_PORT: '8084', SUPER_IPV6_PORT_8084_TCP_ADDR: '2001:db8::10',
      SCTP_1_SERVICE_HOST: '10.0.2.5', SCTP_1_SERVICE_PORT: '777', SCTP_1_PORT: 'sctp://10.0.2.5:777', SCTP_1_PORT_777_SCTP: 'sctp://10.0.2.5:777',
      SCTP_1_PORT_777_SCTP_PROTO: 'sctp', SCTP_1_PORT_777_SCTP_PORT: '777', SCTP_1_PORT_777_SCTP_ADDR: '10.0.2.5',
    };
    expect(Object.fromEntries(got.map((v) => [v.name, v.value]))).toEqual(expected);
    expect(got.map((v) => v.name)).toEqual([...got.map((v) => v.name)].sort());
  });

  it('mangles names as makeEnvVariableName: dashes to underscores, upper case, nothing else', () => {
    expect(envVariableName('my-svc')).toBe('MY_SVC');
    expect(envVariableName('a-b-c-1')).toBe('A_B_C_1');
    expect(envVariableName('web')).toBe('WEB');
  });

  const { discovery } = buildServiceModel(objects, { serviceClusterIPRanges: ['10.0.0.0/16'] });
  const names = (vars: { name: string }[]): string[] => [...new Set(vars.map((v) => v.name.replace(/_(SERVICE|PORT).*$/, '')))];

  it('sees its own namespace and default/kubernetes, never headless, ExternalName or other namespaces', () => {
    expect(names(namespaceEnvVars(discovery, 'shop'))).toEqual(['KUBERNETES', 'LATE', 'WEB']);
    expect(names(namespaceEnvVars(discovery, 'elsewhere'))).toEqual(['KUBERNETES', 'OTHER']);
    expect(names(namespaceEnvVars(discovery, 'default'))).toEqual(['KUBERNETES']);
  });

  it('leaves out Services created after the pod started, as kubelet fixes them at container start', () => {
    const pod = discovery.pods.find((p) => p.name === 'client')!;
    const vars = podEnvVars(discovery, pod);
    expect(names(vars)).toEqual(['KUBERNETES', 'WEB']);
    expect(vars.find((v) => v.name === 'WEB_SERVICE_HOST')?.value).toBe('10.0.0.10');
  });

  it('honours enableServiceLinks: false (default/kubernetes stays)', () => {
    const pod = discovery.pods.find((p) => p.name === 'no-links')!;
    expect(names(podEnvVars(discovery, pod))).toEqual(['KUBERNETES']);
  });

  it('lets a namespace\'s own "kubernetes" Service win over default\'s', () => {
    const { discovery: d } = buildServiceModel([...objects, service('kubernetes', '10.0.0.99', [{ port: 8443 }], 'shop')], { serviceClusterIPRanges: ['10.0.0.0/16'] });
    expect(namespaceEnvVars(d, 'shop').find((v) => v.name === 'KUBERNETES_SERVICE_HOST')?.value).toBe('10.0.0.99');
    expect(namespaceEnvVars(d, 'elsewhere').find((v) => v.name === 'KUBERNETES_SERVICE_HOST')?.value).toBe('10.0.0.1');
  });
});

describe('vipwasm env', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vipwasm-env-'));
  const file = join(dir, 'objects.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints NAME=value lines for a namespace and a JSON EnvVar list for a pod', async () => {
    const lines = await runCli(['env', '-n', 'shop', '-f', file, '--service-cluster-ip-range', '10.0.0.0/16']);
    expect(lines.code).toBe(0);
    expect(lines.stdout.split('\n')).toEqual(expect.arrayContaining(['WEB_SERVICE_HOST=10.0.0.10', 'WEB_PORT=tcp://10.0.0.10:80', 'KUBERNETES_SERVICE_PORT_HTTPS=443', 'LATE_SERVICE_PORT=81']));
    const json = await runCli(['env', '-n', 'shop', '--pod', 'client', '-o', 'json', '-f', file, '--service-cluster-ip-range', '10.0.0.0/16']);
    expect(json.code).toBe(0);
    const vars = JSON.parse(json.stdout) as { name: string; value: string }[];
    expect(vars).toContainEqual({ name: 'WEB_PORT_80_TCP_ADDR', value: '10.0.0.10' });
    expect(vars.some((v) => v.name.startsWith('LATE_'))).toBe(false);
  });

  it('names a missing pod as kubectl does (exit 2)', async () => {
    const r = await runCli(['env', '-n', 'shop', '--pod', 'ghost', '-f', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: pods "ghost" not found in namespace "shop"');
  });
});
