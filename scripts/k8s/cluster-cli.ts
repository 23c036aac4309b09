/**
 * `npm run cluster:up` / `npm run cluster:down`: a real control plane on loopback (see cluster.ts)
 * that outlives the command, for trying vipwasm by hand:
 *
 *   npm run cluster:up
 *   npx vipwasm get services --kubeconfig ~/.cache/vipwasm/cluster/admin.kubeconfig
 *   npm run cluster:down
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Cluster, stopByPids } from './cluster.js';

const dir = process.env.VIPWASM_CLUSTER_DIR ?? join(homedir(), '.cache', 'vipwasm', 'cluster');
const state = join(dir, 'state.json');

async function up(): Promise<void> {
  if (existsSync(state)) await down();
  const cluster = await Cluster.start({ dir, detached: true });
  writeFileSync(state, JSON.stringify({ pids: cluster.pids(), server: cluster.server }, null, 2));
  console.log(`cluster:up: kube-apiserver ${cluster.server} ready (etcd, kube-controller-manager running)`);
  console.log(`cluster:up: kubeconfig ${cluster.kubeconfig}`);
  console.log(`cluster:up: logs in ${dir}; npm run cluster:down stops it`);
}

async function down(): Promise<void> {
  if (!existsSync(state)) {
    console.log(`cluster:down: no cluster in ${dir}`);
    return;
  }
  const { pids } = JSON.parse(readFileSync(state, 'utf8')) as { pids: Record<string, number> };
  await stopByPids(pids);
  rmSync(dir, { recursive: true, force: true });
  console.log('cluster:down: stopped and removed');
}

const verb = process.argv[2];
if (verb === 'up') await up();
else if (verb === 'down') await down();
else {
  console.error('usage: cluster-cli.ts up|down');
  process.exit(2);
}
