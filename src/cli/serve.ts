import type { Command } from 'commander';
import { openStore } from '../track/open.js';
import { registryResolver } from '../track/registry.js';
import { registerModelResolver } from '../serve/resolver.js';
import { CliError } from './errors.js';
import {
  buildServer,
  expandSource,
  loadServeConfig,
  modelDefaults,
  parseServeConfig,
  type ServeConfig,
} from '../serve/index.js';

interface ServeFlags {
  config?: string;
  host?: string;
  port?: string;
  instances?: string;
  threads?: string;
  inflight?: string;
  maxBatch?: string;
  maxDelay?: string;
  queue?: string;
  timeout?: string;
  adminTokenEnv?: string;
  logLevel?: string;
  spin?: boolean;
  drainDelay?: string;
  grpcPort?: string;
}

function int(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`--${flag} must be an integer >= ${min} (got '${value}')`);
  return n;
}

/** The server config from `--config`, the positional source and flags (flags win). */
function serveConfigFromCli(source: string | undefined, flags: ServeFlags): ServeConfig {
  let base: ServeConfig;
  try {
    base = flags.config ? loadServeConfig(flags.config) : parseServeConfig({});
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const models = { ...base.models };
  if (source) {
    let expanded: Record<string, string>;
    try {
      expanded = expandSource(source);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    for (const [name, src] of Object.entries(expanded))
      models[name] = models[name] ? { ...models[name], source: src } : modelDefaults(src);
  }
  if (Object.keys(models).length === 0)
    throw new CliError('nothing to serve: give a model (file, folder or models:/ URI) or a --config with models');
  const maxBatch = int(flags.maxBatch, 'max-batch', 1);
  const maxDelay = int(flags.maxDelay, 'max-delay', 0);
  const queue = int(flags.queue, 'queue', 1);
  const instances = int(flags.instances, 'instances', 1);
  const threads = int(flags.threads, 'threads', 1);
  const inflight = int(flags.inflight, 'inflight', 1);
  const timeout = int(flags.timeout, 'timeout', 1);
  for (const [name, m] of Object.entries(models)) {
    models[name] = {
      ...m,
      instances: instances ?? m.instances,
      intraOpThreads: threads ?? m.intraOpThreads,
      inflight: inflight ?? m.inflight,
      spinning: flags.spin ?? m.spinning,
      timeoutMs: timeout ?? m.timeoutMs,
      batching: {
        ...m.batching,
        maxBatchSize: maxBatch ?? m.batching.maxBatchSize,
        maxQueueDelayMs: maxDelay ?? m.batching.maxQueueDelayMs,
        maxQueueSize: queue ?? m.batching.maxQueueSize,
      },
    };
  }
  const token = flags.adminTokenEnv ? process.env[flags.adminTokenEnv] : base.server.adminToken;
  if (flags.adminTokenEnv && !token)
    throw new CliError(`--admin-token-env: environment variable ${flags.adminTokenEnv} is not set`);
  const raw = {
    ...base,
    server: {
      ...base.server,
      host: flags.host ?? base.server.host,
      port: int(flags.port, 'port', 0) ?? base.server.port,
      adminToken: token,
      logLevel: flags.logLevel ?? base.server.logLevel,
      readinessDrainMs: int(flags.drainDelay, 'drain-delay', 0) ?? base.server.readinessDrainMs,
      grpcPort: int(flags.grpcPort, 'grpc-port', 0) ?? base.server.grpcPort,
    },
    models,
  };
  try {
    return parseServeConfig(raw, 'serve options');
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** Registers the `lathe serve` command family. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'Serve ONNX models over the Open Inference Protocol v2 (REST) with dynamic batching, metrics and experiments',
    )
    .argument(
      '[source]',
      'model.onnx, a model folder (<model>/<version>/model.onnx), a repository folder, or models:/name@alias',
    )
    .option('-c, --config <file>', 'serve.yaml (models, batching, cache, experiments, server)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('-p, --port <port>', 'port (default 8000; 0 = any free port)')
    .option(
      '--grpc-port <port>',
      'also serve the OIP gRPC API (inference.GRPCInferenceService) on this port (0 = any free port)',
    )
    .option('--instances <n>', 'session worker threads per model version')
    .option('--threads <n>', 'ORT intra-op threads per instance')
    .option('--inflight <n>', 'batches queued at each instance at once (default 2: the next batch waits in the worker)')
    .option('--max-batch <n>', 'max batch size (1 disables dynamic batching)')
    .option('--max-delay <ms>', 'max queue delay an idle instance waits for a fuller batch')
    .option('--queue <n>', 'max queued requests per model version before 503')
    .option('--timeout <ms>', 'per-request timeout')
    .option('--spin', 'let ORT threads spin while idle')
    .option(
      '--admin-token-env <VAR>',
      'enable /v2/repository admin endpoints with the bearer token in this env variable',
    )
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .option(
      '--drain-delay <ms>',
      'on SIGTERM, how long readiness is false while requests are still answered, before the listener closes (default 5000)',
    )
    .action(async (source: string | undefined, flags: ServeFlags) => {
      const config = serveConfigFromCli(source, flags);
      // models:/name@alias and models:/name/<version> come from the tracking registry ($LATHE_TRACKING_URL or ./.lathe)
      if (JSON.stringify(config).includes('models:/')) registerModelResolver(registryResolver(await openStore()));
      // Listen first: live answers (and readiness says false) while the models load and warm up.
      const server = buildServer({ config });
      const url = await server.listen();
      const grpcPort = config.server.grpcPort !== undefined ? await server.listenGrpc() : undefined;
      console.log(
        `lathe serve: listening on ${url}${grpcPort !== undefined ? ` and grpc://${config.server.host}:${grpcPort}` : ''}; loading ${Object.keys(config.models).join(', ')}`,
      );
      try {
        await server.load();
      } catch (err) {
        await server.close();
        throw new CliError((err as Error).message);
      }
      console.log(`lathe serve: ready (models: ${server.service.names().join(', ')})`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          console.log(
            `lathe serve: not ready; draining (readiness false for ${config.server.readinessDrainMs} ms, then the listener closes and in-flight requests finish)`,
          );
          void server.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
