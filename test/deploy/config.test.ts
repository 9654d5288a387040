// Bad input gets a clear error and writes nothing: an unknown target, a model that does not exist, a name that is
// not a valid Kubernetes name, a bad field in deploy.yaml; the CLI prints the error in one line with exit code 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  deploy,
  DeployError,
  imageLockfile,
  kubernetesNameProblem,
  loadDeployConfig,
  parseDeployConfig,
} from '../../src/deploy/index.js';
import { CNN, tempDir } from './helpers.js';

async function refused(input: Record<string, unknown>, message: RegExp): Promise<void> {
  const out = join(tempDir(), 'out');
  await assert.rejects(deploy({ model: CNN, target: 'k8s', out, ...input } as never), (err: Error) => {
    assert.ok(err instanceof DeployError, `${err.name}: ${err.message}`);
    assert.match(err.message, message);
    return true;
  });
  assert.ok(!existsSync(out), `${out} was created`);
}

test('an unknown target is refused, naming the targets, and nothing is written', async () => {
  await refused(
    { target: 'k9s' },
    /target: unknown target 'k9s'; one of docker, k8s, kserve, knative, rollout, lambda, fetch, browser/,
  );
});

test('a model path that does not exist is refused, naming it, and nothing is written', async () => {
  await refused(
    { model: '/nonexistent/model.onnx' },
    /model: model source '\/nonexistent\/model\.onnx' does not exist/,
  );
  const notOnnx = join(tempDir(), 'model.onnx');
  writeFileSync(notOnnx, 'this is not protobuf at all, just text');
  await refused({ model: notOnnx }, /is not a readable ONNX model/);
});

test('an invalid Kubernetes name is refused, saying why, and nothing is written', async () => {
  await refused({ name: 'Fashion_CNN' }, /name: 'Fashion_CNN' is not a valid Kubernetes name/);
  await refused({ name: '1cnn' }, /not a valid Kubernetes name/);
  await refused({ name: 'a'.repeat(54) }, /54 characters; at most 53/);
  await refused({ namespace: 'ML' }, /namespace: 'ML' is not a valid Kubernetes name/);
  for (const ok of ['cnn', 'fashion-cnn-2', 'a'.repeat(53)]) assert.equal(kubernetesNameProblem(ok), undefined, ok);
  for (const bad of ['', '-cnn', 'cnn-', 'cnn.v2', 'CNN']) assert.ok(kubernetesNameProblem(bad), bad);
});

test('other bad fields name their path; minReplicas above maxReplicas is refused', async () => {
  await refused({ port: 70000 }, /port: /);
  await refused(
    { resources: { requests: { cpu: 'lots', memory: '1Gi' } } },
    /resources\.requests\.cpu: a Kubernetes quantity/,
  );
  await refused({ minReplicas: 5, maxReplicas: 2 }, /minReplicas \(5\) is above maxReplicas \(2\)/);
  await refused({ replicsa: 3 }, /Unrecognized key.*replicsa/);
});

test('deploy.yaml holds every field; flags override it', () => {
  const dir = tempDir();
  const file = join(dir, 'deploy.yaml');
  writeFileSync(file, `target: kserve\nmodel: ${CNN}\nname: from-file\ncanary: 25\nkserveMode: Serverless\n`);
  const c = loadDeployConfig(file, { name: 'from-flag' });
  assert.equal(c.target, 'kserve');
  assert.equal(c.name, 'from-flag');
  assert.equal(c.canary, 25);
  writeFileSync(file, 'target: k8s\nmodel: m.onnx\nalerts: { errorRate: 2 }\n');
  assert.throws(() => loadDeployConfig(file), /deploy config '.*deploy\.yaml' is invalid:\n {2}alerts\.errorRate: /);
  assert.throws(() => parseDeployConfig({ target: 'k8s' }), /model: /);
});

test('deploy writes the folder, and the deploy.yaml it writes reproduces the config', async () => {
  const out = join(tempDir(), 'out');
  const r = await deploy({ model: CNN, target: 'docker', out, name: 'fashion-cnn' });
  assert.equal(r.out, out);
  for (const f of [
    'Dockerfile',
    '.dockerignore',
    'package.json',
    'package-lock.json',
    'serve.yaml',
    'model/model.onnx',
    'vendor/lathe/bin/lathe.js',
    'vendor/lathe/dist/src/cli/bin.js',
    'vendor/lathe/src/serve/grpc/grpc_predict_v2.proto',
  ])
    assert.ok(existsSync(join(out, f)), f);
  assert.deepEqual(readFileSync(join(out, 'model/model.onnx')), readFileSync(CNN));
  const again = parseDeployConfig({ ...(parse(readFileSync(join(out, 'deploy.yaml'), 'utf8')) as object), out });
  assert.equal(again.name, 'fashion-cnn');
  assert.ok(!readdirSync(out).some((f) => f.endsWith('.tmp')));
});

test('lathe deploy (CLI): one-line errors with exit code 2, nothing written', () => {
  const out = join(tempDir(), 'out');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/lathe.js', 'deploy', ...args], { encoding: 'utf8' });
  let r = run(CNN, '--target', 'k9s', '--out', out);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /unknown target 'k9s'/);
  r = run('missing.onnx', '--target', 'k8s', '--out', out);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /model source 'missing\.onnx' does not exist/);
  r = run(CNN, '--target', 'k8s', '--name', 'Bad_Name', '--out', out);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /'Bad_Name' is not a valid Kubernetes name/);
  r = run(CNN, '--out', out);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--target is required/);
  assert.ok(!existsSync(out));
  r = run(CNN, '--target', 'knative', '--out', out, '--name', 'cnn');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /knative\/service\.yaml/);
  assert.ok(existsSync(join(out, 'knative', 'service.yaml')));
});

test('a models:/ URI resolves through the registered resolvers; a run folder through its model.onnx', async () => {
  const { registerModelResolver } = await import('../../src/serve/index.js');
  registerModelResolver({
    resolve: async (uri) =>
      uri.startsWith('models:/deploy-test')
        ? [
            { version: '3', path: CNN },
            { version: '1', path: '/nonexistent' },
          ]
        : undefined,
  });
  const out = join(tempDir(), 'out');
  const r = await deploy({ model: 'models:/deploy-test@champion', target: 'kserve', out, name: 'cnn' });
  assert.equal(r.model, CNN, 'the highest version is shipped');
  await assert.rejects(
    deploy({ model: 'models:/other@x', target: 'kserve', out: join(out, 'x') }),
    /no resolver handles 'models:\/other@x'/,
  );
  const run = tempDir();
  writeFileSync(join(run, 'model.onnx'), readFileSync(CNN));
  assert.equal((await deploy({ model: run, target: 'knative', out: join(out, 'run') })).model, join(run, 'model.onnx'));
});

test('lathe deploy preview (CLI) serves a bundle folder on 127.0.0.1', { timeout: 30_000 }, async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
  const { spawn } = await import('node:child_process');
  const p = spawn(process.execPath, ['bin/lathe.js', 'deploy', 'preview', dir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let text = '';
      p.stdout.on('data', (d) => {
        text += d;
        const m = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(text);
        if (m) resolve(m[1]);
      });
      p.on('exit', (code) => reject(new Error(`preview exited with ${code}`)));
    });
    const r = await fetch(url + '/');
    assert.equal(r.status, 200);
    assert.match(await r.text(), /<title>x<\/title>/);
    assert.equal((await fetch(url + '/missing.js')).status, 404);
  } finally {
    p.kill('SIGTERM');
  }
  const bad = spawnSync(process.execPath, ['bin/lathe.js', 'deploy', 'preview', tempDir()], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /holds no index\.html/);
});

test("the image's lockfile holds lathe's runtime dependencies and what they reach, nothing else", () => {
  const lathe = JSON.parse(readFileSync('package.json', 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const deps = Object.fromEntries(Object.entries(lathe.dependencies).filter(([n]) => n !== 'onnxruntime-web'));
  const lock = JSON.parse(imageLockfile(process.cwd(), 'app', deps)!) as {
    packages: Record<string, { dev?: boolean; version?: string }>;
  };
  assert.deepEqual(lock.packages[''], { name: 'app', version: '1.0.0', dependencies: deps });
  for (const d of Object.keys(deps)) assert.ok(lock.packages[`node_modules/${d}`], d);
  const full = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
    packages: Record<string, { version?: string; dev?: boolean }>;
  };
  // dev-only packages (a devDependency that a runtime one also needs, like protobufjs's @types/node, is not dev-only)
  const devOnly = Object.keys(lathe.devDependencies).filter((d) => full.packages[`node_modules/${d}`]?.dev);
  assert.ok(devOnly.includes('typescript'));
  for (const d of [...devOnly, 'onnxruntime-web', 'guid-typescript'])
    assert.equal(lock.packages[`node_modules/${d}`], undefined, `${d} is not in the image`);
  assert.ok(Object.values(lock.packages).every((p) => p.dev === undefined));
  for (const [path, p] of Object.entries(lock.packages))
    if (path) assert.equal(p.version, full.packages[path].version, path);
});
