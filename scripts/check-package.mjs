#!/usr/bin/env node
// `npm run check:package`: the package a user installs, checked as they would meet it.
//   1. `npm pack` → size, file count, and what must (quickstart data, licence, types) or must not (tests, fixtures,
//      source maps, screenshots) be in the tarball;
//   2. publint and @arethetypeswrong/cli (ESM-only profile: lathe ships no CommonJS);
//   3. the tarball installed into an empty project: every subpath imported from ESM, its types resolved by `tsc`
//      in that project, and `npx lathe quickstart` run from the installed package (skip with --no-quickstart).
// Prints one JSON line with the figures at the end. Exits non-zero on the first failed check.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const args = new Set(process.argv.slice(2));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const bin = (name) => join(root, 'node_modules', '.bin', name);

function step(title) {
  console.log(`\n== ${title}`);
}
function fail(message) {
  console.error(`check:package: ${message}`);
  process.exit(1);
}
function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', ...options });
  if (r.status !== 0) fail(`${cmd} ${argv.join(' ')} exited with ${r.status ?? r.signal}`);
}

const work = mkdtempSync(join(tmpdir(), 'lathe-package-'));
try {
  step('npm pack');
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  )[0];
  const tarball = join(work, packed.filename);
  const files = packed.files.map((f) => f.path);
  const figures = { tarball_bytes: packed.size, unpacked_bytes: packed.unpackedSize, files: files.length };
  console.log(
    `${packed.filename}: ${(packed.size / 1e6).toFixed(2)} MB packed, ${(packed.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${files.length} files`,
  );

  const forbidden = [
    /^dist\/(test|bench|scripts)\//,
    /^test\//,
    /\.map$/,
    /^docs\/screenshots\//,
    /\.tsbuildinfo/,
    /^src\/.*\.ts$/,
  ];
  for (const f of files)
    for (const re of forbidden) if (re.test(f)) fail(`the tarball must not contain ${f} (matches ${re})`);
  const required = [
    'package.json',
    'README.md',
    'LICENSE',
    'CHANGELOG.md',
    'bin/lathe.js',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/cli/bin.js',
    'data/fashion-mnist-subset/LICENSE',
    'data/fashion-mnist-subset/train-images-idx3-ubyte.gz',
    'data/fashion-mnist-subset/t10k-labels-idx1-ubyte.gz',
    'src/track/ui/index.html',
    'src/serve/grpc/grpc_predict_v2.proto',
    'src/deploy/browser/index.html',
  ];
  for (const [sub, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue;
    required.push(target.types.replace(/^\.\//, ''), target.default.replace(/^\.\//, ''));
    if (!sub) fail('empty export key');
  }
  for (const f of required) if (!files.includes(f)) fail(`the tarball lacks ${f}`);
  console.log(
    `contents ok: ${required.length} required files present, nothing from tests, benches, maps or screenshots`,
  );

  step('publint');
  run(bin('publint'), ['run', '--strict', tarball], { cwd: root });
  step('are the types wrong');
  run(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'table-flipped'], { cwd: root });

  step('install the tarball into an empty project');
  const app = join(work, 'app');
  run('mkdir', ['-p', app]);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'lathe-smoke', private: true, type: 'module' }, null, 2),
  );
  // onnxruntime-node's postinstall would fetch CUDA libraries from outside the npm registry (DESIGN.md).
  writeFileSync(join(app, '.npmrc'), 'onnxruntime-node-install=skip\n');
  const t0 = Date.now();
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app });
  figures.install_s = +((Date.now() - t0) / 1000).toFixed(1);

  const subpaths = Object.keys(pkg.exports)
    .filter((s) => s !== './package.json')
    .map((s) => s.replace(/^\./, 'lathe'));
  const probe =
    subpaths.map((s, i) => `import * as m${i} from '${s}';`).join('\n') +
    `\nconst mods = [${subpaths.map((_, i) => `m${i}`).join(', ')}];\n` +
    `const names = ${JSON.stringify(subpaths)};\n` +
    `mods.forEach((m, i) => { if (Object.keys(m).length === 0) throw new Error(names[i] + ' exports nothing'); });\n` +
    `console.log('imported ' + names.join(', '));\n`;
  writeFileSync(join(app, 'probe.mjs'), probe);
  step('import every subpath (ESM)');
  run(process.execPath, ['probe.mjs'], { cwd: app });

  step('the installed UI serves its pages and its charting library (uPlot, a dependency, no CDN)');
  writeFileSync(
    join(app, 'ui.mjs'),
    `import { createTrackingServer, openStore } from 'lathe/track';
const store = await openStore(process.argv[2]);
const app = createTrackingServer({ store });
for (const url of ['/', '/ui/app.js', '/ui/charts.js', '/ui/app.css', '/ui/uplot.js', '/ui/uplot.css']) {
  const r = await app.inject({ method: 'GET', url });
  if (r.statusCode !== 200 || r.body.length < 100) throw new Error(url + ': ' + r.statusCode + ' ' + r.body.slice(0, 200));
}
if (!(await app.inject({ method: 'GET', url: '/ui/uplot.js' })).body.includes('uPlot')) throw new Error('/ui/uplot.js is not uPlot');
await app.close();
await store.close();
console.log('ui ok: pages and uPlot served from the installed package');
`,
  );
  run(process.execPath, ['ui.mjs', join(app, 'ui-store')], { cwd: app });

  step('types resolve (tsc in the empty project)');
  writeFileSync(
    join(app, 'probe.ts'),
    subpaths.map((s, i) => `import type * as T${i} from '${s}';\nexport type U${i} = keyof typeof T${i};`).join('\n') +
      `\nimport { Trainer } from 'lathe/train';\nimport { float32 } from 'lathe';\nexport const t: typeof Trainer = Trainer;\nexport const x = float32([1], [1]);\n`,
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
        },
        files: ['probe.ts'],
      },
      null,
      2,
    ),
  );
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app });
  console.log('types ok');

  if (!args.has('--no-quickstart')) {
    step('npx lathe quickstart from the installed package');
    const q0 = Date.now();
    run('npx', ['--no-install', 'lathe', 'quickstart', '--output', join(app, 'runs', 'quickstart')], { cwd: app });
    figures.quickstart_s = +((Date.now() - q0) / 1000).toFixed(1);
    statSync(join(app, 'runs', 'quickstart'));
  }
  console.log('\n' + JSON.stringify({ check: 'package', ok: true, ...figures }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
