#!/usr/bin/env node
// Builds the playground into a self-contained static folder (default dist/playground/):
//   index.html, playground.css, playground.js (esbuild bundle of host/browser/main.ts, with the
//   examples/*.yaml manifests inlined) and a copy of build/engine.wasm.
// Usage: node host/browser/build.mjs [--out DIR] [--no-minify]
// Needs build/engine.wasm (npm run build:wasm) and examples/*.yaml.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

/** The selector shows the seed's hostnames example first, then the others in this order. */
const ORDER = ['hostnames', 'nodeport', 'headless', 'externalname', 'session-affinity', 'local-policy', 'loadbalancer'];
/** Short names for the selector; other files show their file name. */
const TITLES = {
  hostnames: 'hostnames: 3 pods, port 80 → 9376 (the seeds’ example)',
  nodeport: 'NodePort',
  headless: 'Headless Service (clusterIP: None)',
  externalname: 'ExternalName',
  'session-affinity': 'Session affinity (ClientIP)',
  'local-policy': 'Local traffic policy',
  loadbalancer: 'LoadBalancer',
};

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/** The title, and the first paragraph of the file's leading `#` comment as its description. */
function describe(name, text) {
  const paragraph = [];
  for (const line of text.split('\n')) {
    if (!/^\s*#/.test(line)) break;
    const words = line.replace(/^\s*#\s?/, '').trim();
    if (words === '') break;
    paragraph.push(words);
  }
  return { title: TITLES[name] ?? name, description: paragraph.join(' ') };
}

export function readExamples(dir = join(root, 'examples')) {
  if (!existsSync(dir)) throw new Error(`playground build: ${dir} does not exist (the examples are bundled into the page)`);
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && statSync(join(dir, f)).isFile());
  if (files.length === 0) throw new Error(`playground build: no *.yaml files in ${dir}`);
  const rank = (n) => (ORDER.indexOf(n) >= 0 ? ORDER.indexOf(n) : ORDER.length);
  return files
    .map((f) => {
      const name = f.replace(/\.ya?ml$/, '');
      const text = readFileSync(join(dir, f), 'utf8');
      return { name, ...describe(name, text), text };
    })
    .sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

const examplesPlugin = {
  name: 'vipwasm-examples',
  setup(b) {
    b.onResolve({ filter: /^vipwasm:examples$/ }, () => ({ path: 'examples', namespace: 'vipwasm-examples' }));
    b.onLoad({ filter: /.*/, namespace: 'vipwasm-examples' }, () => ({
      contents: `export default ${JSON.stringify(readExamples())};`,
      loader: 'js',
      watchDirs: [join(root, 'examples')],
    }));
  },
};

export async function buildPlayground({ outDir = join(root, 'dist', 'playground'), minify = true } = {}) {
  const wasm = join(root, 'build', 'engine.wasm');
  if (!existsSync(wasm)) throw new Error(`playground build: ${wasm} is missing; run npm run build:wasm first`);
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(here, 'main.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome111', 'firefox113', 'safari16.4'],
    minify,
    sourcemap: minify ? 'linked' : 'inline',
    legalComments: 'linked',
    outfile: join(outDir, 'playground.js'),
    plugins: [examplesPlugin],
    metafile: true,
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'playground.css']) copyFileSync(join(here, f), join(outDir, f));
  copyFileSync(wasm, join(outDir, 'engine.wasm'));
  const inputs = Object.keys(result.metafile.inputs);
  const nodeOnly = inputs.filter((p) => p.startsWith('node:') || /(^|\/)node_modules\/@types\/node\//.test(p));
  if (nodeOnly.length) throw new Error(`playground build: the bundle pulls Node-only modules: ${nodeOnly.join(', ')}`);
  const sizes = Object.fromEntries(
    ['playground.js', 'playground.css', 'index.html', 'engine.wasm'].map((f) => [f, statSync(join(outDir, f)).size]),
  );
  return { outDir, sizes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(option('--out', join(root, 'dist', 'playground')));
  buildPlayground({ outDir: out, minify: !process.argv.includes('--no-minify') })
    .then(({ outDir, sizes }) => {
      const list = Object.entries(sizes).map(([f, n]) => `${f} ${(n / 1024).toFixed(1)} KiB`).join(', ');
      process.stdout.write(`playground built in ${outDir}: ${list}\n`);
    })
    .catch((err) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
