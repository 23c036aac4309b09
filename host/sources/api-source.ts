/**
 * The API-server source as the package exports it: the same `ApiServerSource` and `loadKubeConfig`
 * as apiserver.ts, but `@kubernetes/client-node` is loaded only when one is used.
 *
 * Why: client-node 2 pulls undici 8, which throws on import under Node older than 22.19. Loaded
 * eagerly it would crash every consumer of `vipwasm` on Node 20, including those that only read
 * manifest files. Loaded here on first use, only the API-server source needs a newer Node (or the
 * undici 7 override the README gives), and it says so in its error.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ApiServerSourceOptions } from './apiserver.js';
import { EMPTY_SNAPSHOT, type Source, SourceListeners, type SourceListener, type SourceSnapshot } from './source.js';

export type { ApiServerSourceOptions } from './apiserver.js';
export { errorDetail } from './api-errors.js';

type Informers = typeof import('./apiserver.js');

let informers: Promise<Informers> | undefined;

/**
 * The Node version the undici that client-node resolves to requires (its `engines.node`, `>=x.y.z`),
 * when this Node is older; else undefined. Checked before importing: undici 8 on Node 20 throws
 * inside client-node's own module graph as an unhandled rejection, which a caller cannot catch.
 */
function undiciNeeds(): string | undefined {
  try {
    const clientNode = createRequire(import.meta.url).resolve('@kubernetes/client-node');
    const manifest = JSON.parse(readFileSync(createRequire(clientNode).resolve('undici/package.json'), 'utf8')) as { engines?: { node?: string } };
    const need = /^>=\s*(\d+)\.(\d+)/.exec(manifest.engines?.node ?? '');
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    if (need && (major < Number(need[1]) || (major === Number(need[1]) && minor < Number(need[2])))) return manifest.engines!.node;
  } catch {
    // Not resolvable this way (bundled, or another layout): the import below reports what fails.
  }
  return undefined;
}

/**
 * apiserver.ts and client-node, imported once; a Node too old for them is refused with what to do.
 * The CLI loads the API-server source through this too.
 */
export function loadInformers(): Promise<Informers> {
  informers ??= (async () => {
    const need = undiciNeeds();
    const advice = 'on Node older than 22.19 add "overrides": { "undici": "^7.16.0" } to your package.json';
    if (need) throw new Error(`the API-server source needs Node ${need} for the undici of @kubernetes/client-node, this is ${process.version}: ${advice}`);
    try {
      return await import('./apiserver.js');
    } catch (e) {
      throw new Error(`the API-server source cannot load @kubernetes/client-node on Node ${process.version}: ${(e as Error).message} (${advice})`, { cause: e });
    }
  })();
  informers.catch(() => (informers = undefined));
  return informers;
}

/** Loads a KubeConfig from a file, or in-cluster, or by the default rules; rejects with a readable Error. */
export async function loadKubeConfig(path?: string): Promise<KubeConfig> {
  return (await loadInformers()).loadKubeConfig(path);
}

/**
 * Services, EndpointSlices, Nodes and ServiceCIDRs from a live API server (see apiserver.ts). The
 * kubeconfig is read by start(), which rejects if it cannot be loaded.
 */
export class ApiServerSource implements Source {
  private readonly listeners = new SourceListeners();
  private source: Source | undefined;
  private closed = false;

  constructor(private readonly options: ApiServerSourceOptions = {}) {}

  get current(): SourceSnapshot {
    return this.source?.current ?? EMPTY_SNAPSHOT;
  }

  subscribe(listener: SourceListener): () => void {
    return this.listeners.add(listener);
  }

  async start(): Promise<SourceSnapshot> {
    if (this.source) throw new Error('ApiServerSource: start() was already called');
    const { ApiServerSource: Informed } = await loadInformers();
    if (this.closed) throw new Error('ApiServerSource: closed before it started');
    const source = new Informed(this.options);
    this.source = source;
    source.subscribe((snapshot) => this.listeners.emit(snapshot));
    return source.start();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.source?.close();
  }
}
