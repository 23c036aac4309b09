/**
 * Direct REST calls to the test cluster's API server, for what kubectl would need one process per
 * object for (status patches, deletes): hundreds of them per round must stay cheap on two cores.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { Cluster } from '../../../scripts/k8s/cluster.js';

export class ApiClient {
  private readonly ca: Buffer;
  private readonly url: URL;

  constructor(cluster: Cluster) {
    this.ca = readFileSync(join(cluster.options.dir, 'pki', 'ca.crt'));
    this.url = new URL(cluster.server);
  }

  /** One request; resolves with the parsed body, rejects on a status ≥ 400 (404 allowed for DELETE). */
  call(method: string, path: string, body?: unknown, contentType = 'application/merge-patch+json'): Promise<unknown> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.url.hostname, port: this.url.port, path, method, ca: this.ca,
          headers: { Authorization: 'Bearer admin-token-vipwasm', Accept: 'application/json', ...(data ? { 'Content-Type': contentType } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            const status = res.statusCode ?? 0;
            if (status >= 400 && !(method === 'DELETE' && status === 404)) reject(new Error(`${method} ${path}: HTTP ${status} ${text.slice(0, 400)}`));
            else resolve(text ? JSON.parse(text) : undefined);
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }
}

/** Runs `work` over `items`, at most `limit` at a time. */
export async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
