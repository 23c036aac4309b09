/**
 * deploy/: the RBAC grants exactly what the API-server source watches, and the DaemonSet's
 * arguments are flags the `forward` verb knows. (No cluster here to apply them to.)
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { register as registerForward } from '../../host/cli/commands/forward.js';

const docs = (f: string): Record<string, any>[] => parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS());

describe('deploy/', () => {
  it('the ClusterRole lets the ServiceAccount list and watch Services, EndpointSlices and Nodes', () => {
    const rbac = docs('deploy/rbac.yaml');
    const role = rbac.find((d) => d.kind === 'ClusterRole')!;
    const binding = rbac.find((d) => d.kind === 'ClusterRoleBinding')!;
    const sa = rbac.find((d) => d.kind === 'ServiceAccount')!;
    const allowed = (group: string, resource: string, verb: string): boolean =>
      role.rules.some((r: any) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    for (const [group, resource] of [['', 'services'], ['', 'nodes'], ['discovery.k8s.io', 'endpointslices']]) {
      for (const verb of ['list', 'watch']) expect(allowed(group!, resource!, verb), `${verb} ${resource}`).toBe(true);
    }
    expect(role.rules.flatMap((r: any) => r.verbs)).not.toContain('update');
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects[0]).toMatchObject({ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace });
  });

  it('the DaemonSet runs `forward` with flags the verb defines, on the host network, with its node name', () => {
    const [ds] = docs('deploy/daemonset.yaml');
    const pod = ds!.spec.template.spec;
    expect(ds!.spec.selector.matchLabels).toEqual(ds!.spec.template.metadata.labels);
    expect(pod.hostNetwork).toBe(true);
    expect(pod.serviceAccountName).toBe(docs('deploy/rbac.yaml').find((d) => d.kind === 'ServiceAccount')!.metadata.name);
    const c = pod.containers[0];
    expect(c.env.find((e: any) => e.name === 'NODE_NAME').valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
    const program = new Command();
    registerForward(program);
    const forward = program.commands.find((x) => x.name() === c.args[0])!;
    expect(forward).toBeDefined();
    const known = new Set(forward.options.map((o) => o.long));
    for (const arg of c.args.slice(1)) expect(known, arg).toContain(arg.split('=')[0]);
    const probePorts = [c.livenessProbe.httpGet.port, c.readinessProbe.httpGet.port];
    expect(c.args).toContain(`--healthz-bind-address=0.0.0.0:${probePorts[0]}`);
    expect(probePorts[1]).toBe(probePorts[0]);
  });
});
