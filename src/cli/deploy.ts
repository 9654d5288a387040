// `lathe deploy <model> --target ...` and `lathe deploy preview <dir>`: thin commands over src/deploy.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { openStore } from '../track/open.js';
import { registryResolver } from '../track/registry.js';
import { registerModelResolver } from '../serve/resolver.js';
import {
  deploy,
  deployTraining,
  loadDeployConfig,
  loadTrainDeployConfig,
  parseDeployConfig,
  parseTrainDeployConfig,
  startPreview,
  TARGETS,
  TRAIN_TARGET,
} from '../deploy/index.js';
import { CliError } from './errors.js';

interface DeployFlags {
  config?: string;
  target?: string;
  out?: string;
  name?: string;
  namespace?: string;
  image?: string;
  port?: string;
  replicas?: string;
  minReplicas?: string;
  maxReplicas?: string;
  canary?: string;
  autoscaler?: string;
  kserveMode?: string;
  storageUri?: string;
  sample?: string[];
  lathePackage?: string;
  worldSize?: string;
  threads?: string;
  masterPort?: string;
  maxRestarts?: string;
  checkpoints?: string;
  claimName?: string;
  dataClaim?: string;
}

const ALL_TARGETS = [...TARGETS, TRAIN_TARGET];
/** Flags only the serving targets read, and flags only k8s-train reads (given to the other kind: an error). */
const SERVING_FLAGS = [
  'port',
  'replicas',
  'minReplicas',
  'maxReplicas',
  'canary',
  'autoscaler',
  'kserveMode',
  'storageUri',
  'sample',
  'lathePackage',
] as const;
const TRAIN_FLAGS = [
  'worldSize',
  'threads',
  'masterPort',
  'maxRestarts',
  'checkpoints',
  'claimName',
  'dataClaim',
] as const;
const flagName = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Refuses flags that the chosen kind of target would silently ignore. */
function refuseForeignFlags(f: DeployFlags, training: boolean): void {
  const foreign = (training ? SERVING_FLAGS : TRAIN_FLAGS).filter((k) => f[k] !== undefined);
  if (foreign.length > 0)
    throw new CliError(
      `${foreign.map(flagName).join(', ')}: not an option of ${training ? TRAIN_TARGET : 'the serving targets'}`,
    );
}

function num(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new CliError(`--${flag} must be a number (got '${value}')`);
  return n;
}

/** The k8s-train config from the positional training config and flags (flags win over `--config`). */
function trainInputFromCli(trainConfig: string | undefined, f: DeployFlags): Record<string, unknown> {
  const checkpoints =
    f.checkpoints !== undefined || f.claimName !== undefined
      ? {
          ...(f.checkpoints !== undefined ? { volume: f.checkpoints } : {}),
          ...(f.claimName !== undefined ? { claimName: f.claimName } : {}),
        }
      : undefined;
  const flags: Record<string, unknown> = {
    target: TRAIN_TARGET,
    config: trainConfig,
    out: f.out,
    name: f.name,
    namespace: f.namespace,
    image: f.image,
    worldSize: num(f.worldSize, 'world-size'),
    threads: num(f.threads, 'threads'),
    masterPort: num(f.masterPort, 'master-port'),
    maxRestarts: num(f.maxRestarts, 'max-restarts'),
    checkpoints,
    dataClaimName: f.dataClaim,
  };
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
}

/** The target a `--config` file names (undefined when it names none or cannot be read: its loader says why). */
function targetInFile(path: string): unknown {
  try {
    return (parseYaml(readFileSync(path, 'utf8')) as { target?: unknown } | null)?.target;
  } catch {
    return undefined;
  }
}

/** The deploy config from `--config`, the positional model and flags (flags win). */
function deployInputFromCli(model: string | undefined, f: DeployFlags): Record<string, unknown> {
  const flags: Record<string, unknown> = {
    target: f.target,
    model,
    out: f.out,
    name: f.name,
    namespace: f.namespace,
    image: f.image,
    port: num(f.port, 'port'),
    replicas: num(f.replicas, 'replicas'),
    minReplicas: num(f.minReplicas, 'min-replicas'),
    maxReplicas: num(f.maxReplicas, 'max-replicas'),
    canary: num(f.canary, 'canary'),
    autoscaler: f.autoscaler,
    kserveMode: f.kserveMode,
    storageUri: f.storageUri,
    samples: f.sample && f.sample.length > 0 ? f.sample : undefined,
    lathePackage: f.lathePackage,
  };
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
}

export function registerDeploy(program: Command): void {
  const cmd = program
    .command('deploy')
    .description(
      `Generate a deployable folder for a model (${TARGETS.join(', ')}) or a distributed training job (${TRAIN_TARGET})`,
    )
    .argument(
      '[model]',
      `model.onnx, a run or model folder holding model.onnx, or models:/name@alias; for ${TRAIN_TARGET}: the training config`,
    )
    .option('-t, --target <target>', ALL_TARGETS.join(' | '))
    .option('-c, --config <file>', 'deploy.yaml with any of the fields below (flags win)')
    .option('-o, --out <dir>', 'folder to write (default ./deploy)')
    .option('--name <name>', 'app and model name (a Kubernetes name; default lathe-model)')
    .option('--namespace <ns>', 'Kubernetes namespace (default default)')
    .option('--image <ref>', 'container image the manifests run (default <name>:latest)')
    .option('--port <port>', 'port inside the container (default 8080)')
    .option('--replicas <n>', 'Deployment/Rollout replicas (default 2)')
    .option('--min-replicas <n>', 'autoscaling minimum (default 2)')
    .option('--max-replicas <n>', 'autoscaling maximum (default 10)')
    .option('--canary <percent>', 'canary traffic percent (KServe canaryTrafficPercent, first Argo step; default 10)')
    .option('--autoscaler <hpa|keda>', 'k8s target: HPA (CPU + queue depth) or a KEDA ScaledObject')
    .option('--kserve-mode <mode>', 'RawDeployment (default) or Serverless')
    .option('--storage-uri <uri>', 'KServe storageUri (the model is fetched to /mnt/models)')
    .option('--sample <image...>', 'browser target: sample images bundled and classified when the page loads')
    .option('--lathe-package <spec>', "how the image gets lathe: 'vendor' (copy this lathe, default) or an npm spec")
    .option('--world-size <n>', `${TRAIN_TARGET}: ranks (one pod each)`)
    .option('--threads <n>', `${TRAIN_TARGET}: intra-op threads per rank (default 2)`)
    .option('--master-port <port>', `${TRAIN_TARGET}: rank 0's rendezvous port (default 29500)`)
    .option('--max-restarts <n>', `${TRAIN_TARGET}: group restarts from the last checkpoint (default 3)`)
    .option('--checkpoints <pvc|emptyDir>', `${TRAIN_TARGET}: the run directory's volume (default pvc)`)
    .option('--claim-name <name>', `${TRAIN_TARGET}: an existing PersistentVolumeClaim for the checkpoints`)
    .option('--data-claim <name>', `${TRAIN_TARGET}: an existing claim holding the data, mounted at /data`)
    .action(async (model: string | undefined, flags: DeployFlags) => {
      const training = (flags.target ?? (flags.config ? targetInFile(flags.config) : undefined)) === TRAIN_TARGET;
      refuseForeignFlags(flags, training);
      if (training) {
        const input = trainInputFromCli(model, flags);
        const c = flags.config
          ? loadTrainDeployConfig(flags.config, input)
          : parseTrainDeployConfig(input, `${TRAIN_TARGET} options`);
        const r = deployTraining(c);
        console.log(`lathe deploy: ${TRAIN_TARGET} for ${r.config} → ${r.out} (${r.files.length} files)`);
        for (const f of r.files) console.log(`  ${f}`);
        return;
      }
      const overrides = deployInputFromCli(model, flags);
      if (model?.startsWith('models:/')) registerModelResolver(registryResolver(await openStore()));
      if (!flags.config && !flags.target) throw new CliError(`--target is required (${ALL_TARGETS.join(', ')})`);
      const config = flags.config
        ? loadDeployConfig(flags.config, overrides)
        : parseDeployConfig(overrides, 'deploy options');
      const r = await deploy(config);
      console.log(`lathe deploy: ${r.target} for ${r.model} → ${r.out} (${r.files.length} files)`);
      for (const f of r.files.filter((x) => !x.startsWith('vendor/') && !x.startsWith('ort/'))) console.log(`  ${f}`);
    });
  cmd
    .command('preview')
    .description('Serve a browser bundle (lathe deploy --target browser) on 127.0.0.1')
    .argument('[dir]', 'the bundle folder', 'deploy')
    .option('-p, --port <port>', 'port (default 8080; 0 = any free port)', '8080')
    .action(async (dir: string, flags: { port: string }) => {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new CliError(`--port must be an integer in 0..65535 (got '${flags.port}')`);
      const p = await startPreview(dir, port);
      console.log(`lathe deploy preview: ${p.url}/ (Ctrl-C to stop)`);
      const stop = (): void => void p.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
