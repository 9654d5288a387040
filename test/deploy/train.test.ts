// `lathe deploy --target k8s-train`: the Indexed Job + headless Service, the JobSet and the PyTorchJob are schema-valid
// (core objects, and the Job and pod templates inside the two custom resources, with kubernetes-models; JobSet and
// PyTorchJob with lathe's structural schemas, which are shown to fail), the ranks find rank 0 where each launcher
// puts it, the restart budget follows maxRestarts, the shipped training config is the user's with its output on
// the checkpoint volume, and bad input (world size, missing config, image, a name too long) writes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigMap, PersistentVolumeClaim, PodTemplate, Service } from 'kubernetes-models/v1';
import { Job } from 'kubernetes-models/batch/v1';
import {
  DeployError,
  deployTraining,
  generateTraining,
  masterAddress,
  parseTrainDeployConfig,
  trainConfigFileName,
  trainingCrdProblems,
  trainRunDir,
  type DeployFiles,
  type Manifest,
  type TrainDeployConfigInput,
} from '../../src/deploy/index.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { tempDir } from './helpers.js';

const TRAIN_CONFIG = join(process.cwd(), 'examples', 'fashion-cnn.yaml');
type Obj = Record<string, any>;

const input = (extra: Partial<TrainDeployConfigInput> = {}): TrainDeployConfigInput => ({
  target: 'k8s-train',
  config: TRAIN_CONFIG,
  image: 'registry.example/lathe:1',
  name: 'fashion-ddp',
  namespace: 'ml',
  worldSize: 4,
  ...extra,
});

function generatedFiles(extra: Partial<TrainDeployConfigInput> = {}): DeployFiles {
  return generateTraining(parseTrainDeployConfig(input(extra)));
}

function manifests(files: DeployFiles): Map<string, Obj> {
  const out = new Map<string, Obj>();
  for (const [file, text] of files)
    if (file.startsWith('k8s-train/') && !file.endsWith('kustomization.yaml')) out.set(file, parse(String(text)));
  return out;
}

/** A pod template as kubernetes-models checks it (v1 PodTemplate wraps a PodTemplateSpec). */
const validatePodTemplate = (template: Obj): void =>
  new PodTemplate({ metadata: { name: 'template' }, template } as never).validate();
const validateJobSpec = (spec: Obj): void => new Job({ metadata: { name: 'job' }, spec } as never).validate();

const envOf = (container: Obj): Map<string, Obj> => new Map(container.env.map((e: Obj) => [e.name, e]));

test('k8s-train: every manifest is schema-valid (kubernetes-models; the JobSet and PyTorchJob schemas)', () => {
  const files = generatedFiles();
  const m = manifests(files);
  assert.deepEqual([...m.keys()].sort(), [
    'k8s-train/base/configmap.yaml',
    'k8s-train/base/pvc.yaml',
    'k8s-train/job/job.yaml',
    'k8s-train/job/service.yaml',
    'k8s-train/jobset/jobset.yaml',
    'k8s-train/pytorchjob/pytorchjob.yaml',
  ]);
  new ConfigMap(m.get('k8s-train/base/configmap.yaml') as never).validate();
  new PersistentVolumeClaim(m.get('k8s-train/base/pvc.yaml') as never).validate();
  new Service(m.get('k8s-train/job/service.yaml') as never).validate();
  new Job(m.get('k8s-train/job/job.yaml') as never).validate();
  const jobSet = m.get('k8s-train/jobset/jobset.yaml')!;
  assert.deepEqual(trainingCrdProblems(jobSet as Manifest), []);
  for (const rj of jobSet.spec.replicatedJobs) validateJobSpec(rj.template.spec);
  const ptj = m.get('k8s-train/pytorchjob/pytorchjob.yaml')!;
  assert.deepEqual(trainingCrdProblems(ptj as Manifest), []);
  for (const spec of Object.values(ptj.spec.pytorchReplicaSpecs) as Obj[]) validatePodTemplate(spec.template);
  for (const [file, obj] of m) assert.equal(obj.metadata.namespace, 'ml', `${file}: namespace`);
  // each launcher folder is a kustomization over base/ plus its own files
  for (const folder of ['job', 'jobset', 'pytorchjob']) {
    const k = parse(String(files.get(`k8s-train/${folder}/kustomization.yaml`))) as { resources: string[] };
    assert.equal(k.resources[0], '../base');
    for (const r of k.resources.slice(1)) assert.ok(m.has(`k8s-train/${folder}/${r}`), `${folder}: ${r}`);
  }
  const base = parse(String(files.get('k8s-train/base/kustomization.yaml'))) as { resources: string[] };
  assert.deepEqual(base.resources.sort(), ['configmap.yaml', 'pvc.yaml']);
});

test('k8s-train: the JobSet and PyTorchJob schemas reject broken manifests (they can fail)', () => {
  const m = manifests(generatedFiles());
  const broken = (file: string, mutate: (o: Obj) => void): string[] => {
    const o = structuredClone(m.get(file)!);
    mutate(o);
    return trainingCrdProblems(o as Manifest);
  };
  const js = 'k8s-train/jobset/jobset.yaml';
  const pj = 'k8s-train/pytorchjob/pytorchjob.yaml';
  const cases: [string, (o: Obj) => void, RegExp][] = [
    [js, (o) => (o.spec.replicatedJob = o.spec.replicatedJobs), /replicatedJob/],
    [js, (o) => (o.spec.replicatedJobs[0].template.spec.parallelism = 3), /completions and parallelism differ/],
    [js, (o) => (o.spec.failurePolicy.rules[0].action = 'Restart'), /failurePolicy\.rules\.0\.action/],
    [js, (o) => (o.spec.replicatedJobs[0].template.spec.template.spec.restartPolicy = 'Always'), /restartPolicy/],
    [js, (o) => (o.apiVersion = 'jobset.x-k8s.io/v1'), /apiVersion/],
    [pj, (o) => (o.spec.pytorchReplicaSpecs.Master.template.spec.containers[0].name = 'lathe'), /'pytorch'/],
    [pj, (o) => (o.spec.pytorchReplicaSpecs.Master.replicas = 2), /Master\.replicas/],
    [pj, (o) => (o.spec.pytorchReplicaSpecs.Master.template.spec.containers[0].ports = []), /pytorchjob-port/],
    [pj, (o) => (o.spec.runPolicy.cleanPodPolicy = 'Sometimes'), /cleanPodPolicy/],
    [pj, (o) => (o.spec.pytorchReplicaSpecs.Chief = o.spec.pytorchReplicaSpecs.Worker), /Chief/],
  ];
  for (const [file, mutate, message] of cases) {
    const problems = broken(file, mutate);
    assert.ok(problems.length > 0, `${file}: ${mutate.toString()} passed`);
    assert.match(problems.join('\n'), message);
  }
  // kubernetes-models rejects a broken Job template inside the JobSet
  const spec = structuredClone(m.get(js)!.spec.replicatedJobs[0].template.spec);
  spec.template.spec.containers[0].env[0].value = 3;
  assert.throws(() => validateJobSpec(spec));
});

test('k8s-train Indexed Job: rank = completion index, rank 0 at <job>-0.<service>, restarts = maxRestarts × world', () => {
  const m = manifests(generatedFiles({ maxRestarts: 2, masterPort: 29400, threads: 3 }));
  const job = m.get('k8s-train/job/job.yaml')!;
  const svc = m.get('k8s-train/job/service.yaml')!;
  const pod = job.spec.template;
  assert.equal(job.spec.completionMode, 'Indexed');
  assert.equal(job.spec.completions, 4);
  assert.equal(job.spec.parallelism, 4);
  assert.equal(job.spec.backoffLimit, 8);
  assert.equal(pod.spec.restartPolicy, 'Never');
  // the Service is headless, names the pods' subdomain and selects exactly them
  assert.equal(svc.spec.clusterIP, 'None');
  assert.equal(pod.spec.subdomain, svc.metadata.name);
  for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(pod.metadata.labels[k], v, k);
  const container = pod.spec.containers[0];
  const env = envOf(container);
  assert.equal(env.get('MASTER_ADDR')!.value, `${job.metadata.name}-0.${svc.metadata.name}`);
  assert.equal(env.get('MASTER_ADDR')!.value, masterAddress(parseTrainDeployConfig(input()), 'job'));
  assert.equal(env.get('MASTER_PORT')!.value, '29400');
  assert.equal(svc.spec.ports[0].port, 29400);
  assert.equal(container.ports[0].containerPort, 29400);
  assert.equal(env.get('WORLD_SIZE')!.value, '4');
  assert.equal(
    env.get('RANK')!.valueFrom.fieldRef.fieldPath,
    "metadata.annotations['batch.kubernetes.io/job-completion-index']",
  );
  assert.equal(env.get('LATHE_THREADS')!.value, '3');
  assert.deepEqual(container.resources.requests.cpu, '3');
  // bad input (exit code 2) fails the Job at once; evictions do not count
  const rules = job.spec.podFailurePolicy.rules;
  assert.deepEqual(rules[0], {
    action: 'FailJob',
    onExitCodes: { containerName: container.name, operator: 'In', values: [2] },
  });
  assert.equal(rules[1].action, 'Ignore');
});

test('k8s-train JobSet: one Indexed Job, restarted as a group maxRestarts times; PyTorchJob: Master + N−1 Workers', () => {
  const c = parseTrainDeployConfig(input({ maxRestarts: 5 }));
  const m = manifests(generateTraining(c));
  const js = m.get('k8s-train/jobset/jobset.yaml')!;
  assert.equal(js.spec.failurePolicy.maxRestarts, 5);
  assert.equal(js.spec.network.enableDNSHostnames, true);
  const rj = js.spec.replicatedJobs[0];
  assert.equal(rj.replicas, 1);
  assert.equal(rj.template.spec.backoffLimit, 0, 'any pod failure fails the Job, so the JobSet restarts all');
  assert.equal(rj.template.spec.completions, 4);
  const env = envOf(rj.template.spec.template.spec.containers[0]);
  // JobSet hostnames: <jobset>-<replicatedJob>-<jobIndex>-<podIndex>.<subdomain>
  assert.equal(env.get('MASTER_ADDR')!.value, `fashion-ddp-${rj.name}-0-0.${js.spec.network.subdomain}`);
  assert.equal(env.get('MASTER_ADDR')!.value, masterAddress(c, 'jobset'));
  assert.equal(env.get('WORLD_SIZE')!.value, '4');

  const ptj = m.get('k8s-train/pytorchjob/pytorchjob.yaml')!;
  const specs = ptj.spec.pytorchReplicaSpecs;
  assert.equal(specs.Master.replicas, 1);
  assert.equal(specs.Worker.replicas, 3);
  assert.equal(ptj.spec.runPolicy.backoffLimit, 20);
  for (const s of [specs.Master, specs.Worker]) {
    const container = s.template.spec.containers[0];
    assert.equal(container.name, 'pytorch');
    const names = [...envOf(container).keys()];
    for (const v of ['MASTER_ADDR', 'MASTER_PORT', 'RANK', 'WORLD_SIZE'])
      assert.ok(!names.includes(v), `${v} is the operator's to set`);
  }
  const single = manifests(generatedFiles({ worldSize: 1 })).get('k8s-train/pytorchjob/pytorchjob.yaml')!;
  assert.equal(single.spec.pytorchReplicaSpecs.Worker, undefined);
  assert.deepEqual(trainingCrdProblems(single as Manifest), []);
});

test('k8s-train: every worker runs the lathe image with `lathe train /config/<cfg>.yaml`, resuming from a checkpoint', () => {
  const c = parseTrainDeployConfig(input());
  const files = generateTraining(c);
  const m = manifests(files);
  const cm = m.get('k8s-train/base/configmap.yaml')!;
  const key = trainConfigFileName(TRAIN_CONFIG);
  assert.equal(key, 'fashion-cnn.yaml');
  const shipped = parse(cm.data[key]) as Obj;
  assert.equal(shipped.output, trainRunDir(c));
  assert.equal(shipped.output, '/checkpoints/fashion-ddp');
  assert.equal(parseTrainConfig(shipped, 'shipped').model.name, 'cnn', 'the shipped config is a valid training config');
  const pods = [
    m.get('k8s-train/job/job.yaml')!.spec.template,
    m.get('k8s-train/jobset/jobset.yaml')!.spec.replicatedJobs[0].template.spec.template,
    m.get('k8s-train/pytorchjob/pytorchjob.yaml')!.spec.pytorchReplicaSpecs.Master.template,
  ];
  for (const pod of pods) {
    const container = pod.spec.containers[0];
    assert.equal(container.image, 'registry.example/lathe:1');
    const script = container.args.join(' ');
    assert.match(script, /exec node \/app\/node_modules\/lathe\/bin\/lathe\.js train \/config\/fashion-cnn\.yaml/);
    assert.match(script, /if \[ -f "\$RUN_DIR\/last\.json" \]; then exec node .* train --resume "\$RUN_DIR"/);
    assert.equal(envOf(container).get('RUN_DIR')!.value, shipped.output);
    const mounts = new Map(container.volumeMounts.map((v: Obj) => [v.name, v.mountPath]));
    assert.equal(mounts.get('config'), '/config');
    assert.equal(mounts.get('checkpoints'), '/checkpoints');
    const volumes = new Map(pod.spec.volumes.map((v: Obj) => [v.name, v]));
    assert.equal((volumes.get('config') as Obj).configMap.name, cm.metadata.name);
    assert.equal((volumes.get('checkpoints') as Obj).persistentVolumeClaim.claimName, 'fashion-ddp-checkpoints');
  }
  // the image's ENTRYPOINT runs the same CLI the script names
  assert.match(String(files.get('deploy.yaml')), /worldSize: 4/);

  // emptyDir: no claim is written and a restart starts over
  const e = manifests(generatedFiles({ checkpoints: { volume: 'emptyDir' } }));
  assert.ok(!e.has('k8s-train/base/pvc.yaml'));
  const container = e.get('k8s-train/job/job.yaml')!.spec.template.spec.containers[0];
  assert.equal(container.command, undefined);
  assert.deepEqual(container.args, ['train', '/config/fashion-cnn.yaml', '--overwrite']);
  // an existing claim is used, not written
  const claimed = manifests(generatedFiles({ checkpoints: { claimName: 'shared-runs' }, dataClaimName: 'fmnist' }));
  assert.ok(!claimed.has('k8s-train/base/pvc.yaml'));
  const pod = claimed.get('k8s-train/job/job.yaml')!.spec.template.spec;
  assert.ok(pod.volumes.some((v: Obj) => v.persistentVolumeClaim?.claimName === 'shared-runs'));
  assert.ok(pod.volumes.some((v: Obj) => v.persistentVolumeClaim?.claimName === 'fmnist'));
  new Job(claimed.get('k8s-train/job/job.yaml') as never).validate();
});

function refused(extra: Record<string, unknown>, message: RegExp): void {
  const out = join(tempDir(), 'out');
  assert.throws(
    () => deployTraining({ ...input(), out, ...extra } as never),
    (err: Error) => {
      assert.ok(err instanceof DeployError, `${err.name}: ${err.message}`);
      assert.match(err.message, message);
      return true;
    },
  );
  assert.ok(!existsSync(out), `${out} was created`);
}

test('k8s-train: bad input is refused naming the field, and nothing is written', () => {
  refused({ worldSize: 0 }, /worldSize: worldSize must be at least 1/);
  refused({ worldSize: 2.5 }, /worldSize: worldSize: a whole number from 1 to 1000/);
  refused({ worldSize: undefined }, /worldSize:/);
  refused({ config: '/nonexistent/train.yaml' }, /config: \/nonexistent\/train\.yaml: config file not found/);
  refused({ image: undefined }, /image: required: the lathe image the workers run/);
  refused({ maxRestarts: -1 }, /maxRestarts: maxRestarts must be at least 0/);
  refused({ masterPort: 80 }, /masterPort: masterPort must be at least 1024/);
  refused({ checkpoints: { volume: 'hostPath' } }, /checkpoints\.volume/);
  refused(
    { name: 'a'.repeat(53), worldSize: 100 },
    /name: 'a+' makes the pod hostname 'a+-worker-0-99' \(65 characters\)/,
  );
  const bad = join(tempDir(), 'bad.yaml');
  writeFileSync(bad, 'model: { name: cnn }\ndata: { name: fashion-mnist }\ntrainer: { epochz: 1 }\n');
  refused({ config: bad }, /config: .*bad\.yaml: [\s\S]*trainer: Unrecognized key: "epochz"/);
});

test('k8s-train: deployTraining writes the folder; the CLI reaches it and reports bad input with exit code 2', () => {
  const out = join(tempDir(), 'out');
  const r = deployTraining({ ...input(), out });
  for (const f of r.files) assert.ok(existsSync(join(out, f)), f);
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/lathe.js', 'deploy', ...args], { encoding: 'utf8' });
  const cliOut = join(tempDir(), 'cli');
  let p = run(TRAIN_CONFIG, '--target', 'k8s-train', '--world-size', '3', '--image', 'lathe:1', '--out', cliOut);
  assert.equal(p.status, 0, p.stderr);
  const job = parse(readFileSync(join(cliOut, 'k8s-train/job/job.yaml'), 'utf8')) as Obj;
  assert.equal(job.spec.completions, 3);
  p = run(TRAIN_CONFIG, '--target', 'k8s-train', '--world-size', '0', '--image', 'lathe:1', '--out', cliOut);
  assert.equal(p.status, 2);
  assert.match(p.stderr, /worldSize: worldSize must be at least 1/);
  p = run('missing.yaml', '--target', 'k8s-train', '--world-size', '2', '--image', 'lathe:1', '--out', cliOut);
  assert.equal(p.status, 2);
  assert.match(p.stderr, /config: missing\.yaml: config file not found/);
  // flags the other kind of target reads are refused, not ignored
  p = run(TRAIN_CONFIG, '--target', 'k8s-train', '--world-size', '2', '--image', 'lathe:1', '--replicas', '3');
  assert.equal(p.status, 2);
  assert.match(p.stderr, /--replicas: not an option of k8s-train/);
  // a deploy.yaml naming the target; flags win over its fields
  const file = join(tempDir(), 'train-deploy.yaml');
  writeFileSync(file, `target: k8s-train\nconfig: ${TRAIN_CONFIG}\nimage: lathe:2\nworldSize: 2\nname: from-file\n`);
  const fileOut = join(tempDir(), 'file');
  p = run('--config', file, '--world-size', '5', '--out', fileOut);
  assert.equal(p.status, 0, p.stderr);
  const js = parse(readFileSync(join(fileOut, 'k8s-train/jobset/jobset.yaml'), 'utf8')) as Obj;
  assert.equal(js.metadata.name, 'from-file');
  assert.equal(js.spec.replicatedJobs[0].template.spec.completions, 5);
});

/** A command's result (a tool that may be missing here: kubectl). */
const tool = (bin: string, args: string[]) => spawnSync(bin, args, { encoding: 'utf8' });

test('k8s-train: kustomize renders each launcher folder with base/ (skipped without kubectl)', (t) => {
  const kubectl = 'kubectl';
  if (tool(kubectl, ['version', '--client']).status !== 0) {
    t.skip('kubectl is not installed');
    return;
  }
  const out = join(tempDir(), 'out');
  deployTraining({ ...input(), out });
  const kinds: Record<string, string[]> = {
    job: ['ConfigMap', 'Job', 'PersistentVolumeClaim', 'Service'],
    jobset: ['ConfigMap', 'JobSet', 'PersistentVolumeClaim'],
    pytorchjob: ['ConfigMap', 'PersistentVolumeClaim', 'PyTorchJob'],
  };
  for (const [folder, want] of Object.entries(kinds)) {
    const r = tool(kubectl, ['kustomize', join(out, 'k8s-train', folder)]);
    assert.equal(r.status, 0, r.stderr);
    const docs = r.stdout.split(/^---$/m).map((d) => parse(d) as Obj);
    assert.deepEqual(docs.map((d) => d.kind).sort(), want, folder);
    for (const d of docs) assert.equal(d.metadata.namespace, 'ml', `${folder}: ${d.kind}`);
  }
});

test('k8s-train: the container script starts fresh without a checkpoint and resumes with one', () => {
  const job = manifests(generatedFiles()).get('k8s-train/job/job.yaml')!;
  const container = job.spec.template.spec.containers[0];
  assert.deepEqual(container.command, ['/bin/sh', '-c']);
  // a stand-in `node` on PATH prints the arguments the image's node would get
  const bin = tempDir('lathe-fake-node-');
  writeFileSync(join(bin, 'node'), '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
  const runDir = tempDir('lathe-run-');
  const script = (): string => {
    const r = spawnSync(container.command[0], [container.command[1], container.args[0]], {
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin`, RUN_DIR: runDir },
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  assert.equal(script(), '/app/node_modules/lathe/bin/lathe.js train /config/fashion-cnn.yaml');
  writeFileSync(join(runDir, 'last.json'), '{}');
  assert.equal(script(), `/app/node_modules/lathe/bin/lathe.js train --resume ${runDir}`);
});
