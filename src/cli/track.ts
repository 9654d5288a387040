import { onnxSignature } from './onnx-signature.js';
import { TuneStudySource } from './tune-study-source.js';
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { CliError } from './errors.js';
import {
  logArtifactTo,
  openStore,
  registerModel,
  resolveModelUri,
  startUi,
  TrackingError,
  trackingUrl,
  type ModelSignature,
  type RunRecord,
  type TrackingStore,
} from '../track/index.js';

interface UrlFlag {
  trackingUrl?: string;
}

/** Opens the store, runs `fn`, closes it; input errors become CliErrors (exit 2). */
async function withStore<T>(flags: UrlFlag, fn: (store: TrackingStore) => Promise<T>): Promise<T> {
  let store: TrackingStore;
  try {
    store = await openStore(flags.trackingUrl);
  } catch (err) {
    throw new CliError(`cannot open tracking store '${trackingUrl(flags.trackingUrl)}': ${(err as Error).message}`);
  }
  try {
    return await fn(store);
  } catch (err) {
    if (err instanceof TrackingError) throw new CliError(err.message);
    throw err;
  } finally {
    await store.close();
  }
}

/** The integer in `value` (a flag with a default, or a positional argument, is always given: then the result is too). */
function int(value: string, flag: string, min: number): number;
function int(value: string | undefined, flag: string, min: number): number | undefined;
function int(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${flag} must be an integer >= ${min} (got '${value}')`);
  return n;
}

const print = (json: boolean | undefined, value: unknown, text: () => string): void => {
  console.log(json ? JSON.stringify(value) : text());
};

function runLine(r: RunRecord): string {
  const metrics = Object.entries(r.latest)
    .filter(([k]) => !k.startsWith('sys/'))
    .slice(0, 4)
    .map(([k, v]) => `${k}=${Number(v.toPrecision(5))}`)
    .join(' ');
  return `${r.id}  ${r.status.padEnd(8)}  ${r.experiment}/${r.name}  ${new Date(r.startTime).toISOString()}  ${metrics}`;
}

const urlOption = (c: Command): Command =>
  c.option(
    '--tracking-url <url>',
    'tracking store: a folder (default .lathe), sqlite:<file> or postgres://...?schema=<s> (env LATHE_TRACKING_URL)',
  );

function registerTrackCommands(program: Command): void {
  const track = program.command('track').description('experiment tracking: runs, metrics, artifacts');

  urlOption(track.command('runs').description('list runs (server-side filter, sort and paging)'))
    .option('--experiment <name>')
    .option('--filter <expr>', 'e.g. "params.lr < 0.01 and metrics.loss < 0.5 and status = finished"')
    .option('--sort <field>', 'start_time, name, status, params.<k>, metrics.<k>, tags.<k>')
    .option('--order <asc|desc>', 'sort order', 'desc')
    .option('--limit <n>', 'runs per page', '50')
    .option('--offset <n>', 'first run', '0')
    .option('--json', 'print JSON')
    .action(
      async (
        o: UrlFlag & {
          experiment?: string;
          filter?: string;
          sort?: string;
          order: string;
          limit: string;
          offset: string;
          json?: boolean;
        },
      ) => {
        if (o.order !== 'asc' && o.order !== 'desc')
          throw new CliError(`--order must be asc or desc (got '${o.order}')`);
        await withStore(o, async (s) => {
          const page = await s.listRuns({
            experiment: o.experiment,
            filter: o.filter,
            sort: o.sort,
            order: o.order as 'asc' | 'desc',
            limit: int(o.limit, '--limit', 1),
            offset: int(o.offset, '--offset', 0),
          });
          print(o.json, page, () => [`${page.total} runs`, ...page.runs.map(runLine)].join('\n'));
        });
      },
    );

  urlOption(track.command('show <runId>').description('one run: params, latest metrics, tags, lineage'))
    .option('--json')
    .action(async (id: string, o: UrlFlag & { json?: boolean }) =>
      withStore(o, async (s) => {
        const r = await s.getRun(id);
        print(o.json, r, () => JSON.stringify(r, null, 2));
      }),
    );

  urlOption(track.command('metrics <runId> [key]').description('metric keys of a run, or the series of one key'))
    .option('--json')
    .action(async (id: string, key: string | undefined, o: UrlFlag & { json?: boolean }) =>
      withStore(o, async (s) => {
        if (!key) {
          const keys = await s.metricKeys(id);
          return print(o.json, keys, () => keys.join('\n'));
        }
        const pts = await s.metricSeries(id, key);
        print(o.json, pts, () => pts.map((p) => `${p.step}\t${p.value}\t${new Date(p.time).toISOString()}`).join('\n'));
      }),
    );

  urlOption(track.command('artifacts <runId>').description('artifacts of a run'))
    .option('--json')
    .action(async (id: string, o: UrlFlag & { json?: boolean }) =>
      withStore(o, async (s) => {
        const list = await s.listArtifacts(id);
        print(o.json, list, () => list.map((a) => `${a.path}\t${a.kind}\t${a.size}\t${a.digest}`).join('\n'));
      }),
    );

  urlOption(
    track
      .command('log-artifact <runId> <file>')
      .description('add a file to a run (content-addressed; an existing path is never overwritten)'),
  )
    .option('--name <path>', 'path inside the run (default: the file name)')
    .option('--kind <kind>')
    .action(async (id: string, file: string, o: UrlFlag & { name?: string; kind?: string }) =>
      withStore(o, async (s) => {
        const a = await logArtifactTo(s, id, file, { name: o.name, kind: o.kind });
        console.log(`${a.path}\t${a.digest}\t${a.size}`);
      }),
    );

  urlOption(track.command('experiments').description('experiments and their run counts'))
    .option('--json')
    .action(async (o: UrlFlag & { json?: boolean }) =>
      withStore(o, async (s) => {
        const list = await s.listExperiments();
        print(o.json, list, () => list.map((e) => `${e.name}\t${e.runs}`).join('\n'));
      }),
    );

  urlOption(track.command('sweep').description('mark runs whose writer died as killed/failed'))
    .option('--stale-ms <ms>', 'heartbeat age that counts as dead', '120000')
    .action(async (o: UrlFlag & { staleMs: string }) =>
      withStore(o, async (s) => {
        const ids = await s.sweep(int(o.staleMs, '--stale-ms', 1));
        console.log(ids.length ? ids.join('\n') : 'no dead runs');
      }),
    );
}

function registerRegistryCommands(program: Command): void {
  const reg = program.command('registry').description('model registry: versions, aliases, models:/ URIs');

  urlOption(reg.command('register <name>').description('register a new model version'))
    .requiredOption('--onnx <path>', 'an ONNX artifact path of --run, or a local .onnx file')
    .option('--run <id>', 'run the model comes from (metrics and lineage are copied)')
    .option('--weights <path>', 'weights artifact or file')
    .option(
      '--signature <file>',
      'JSON {inputs:[{name,dtype,shape}], outputs:[...]} (default: read from the ONNX graph)',
    )
    .option('--alias <names>', 'comma-separated aliases to point at it')
    .option('--description <text>')
    .option('--json')
    .action(
      async (
        name: string,
        o: UrlFlag & {
          onnx: string;
          run?: string;
          weights?: string;
          signature?: string;
          alias?: string;
          description?: string;
          json?: boolean;
        },
      ) => {
        let signature: ModelSignature | undefined;
        if (o.signature) {
          try {
            signature = JSON.parse(readFileSync(o.signature, 'utf8')) as ModelSignature;
          } catch (err) {
            throw new CliError(`--signature '${o.signature}': ${(err as Error).message}`);
          }
          if (!Array.isArray(signature.inputs) || !Array.isArray(signature.outputs))
            throw new CliError(`--signature '${o.signature}' must hold {inputs: [...], outputs: [...]}`);
        }
        await withStore(o, async (s) => {
          const v = await registerModel(s, {
            name,
            runId: o.run,
            onnx: o.onnx,
            weights: o.weights,
            signature,
            signatureOf: onnxSignature,
            description: o.description,
            aliases: o.alias ? o.alias.split(',').filter(Boolean) : [],
          });
          print(o.json, v, () => `registered models:/${v.name}/${v.version}`);
        });
      },
    );

  urlOption(reg.command('list').description('registered models'))
    .option('--json')
    .action(async (o: UrlFlag & { json?: boolean }) =>
      withStore(o, async (s) => {
        const models = await s.listModels();
        print(o.json, models, () =>
          models
            .map(
              (m) =>
                `${m.name}\tv${m.latestVersion}\t${Object.entries(m.aliases)
                  .map(([a, v]) => `@${a}=v${v}`)
                  .join(' ')}`,
            )
            .join('\n'),
        );
      }),
    );

  urlOption(reg.command('versions <name>').description('versions of a model'))
    .option('--json')
    .action(async (name: string, o: UrlFlag & { json?: boolean }) =>
      withStore(o, async (s) => {
        const vs = await s.listModelVersions(name);
        print(o.json, vs, () =>
          vs
            .map((v) => `v${v.version}\trun ${v.runId ?? '-'}\t${v.onnxDigest}\t${JSON.stringify(v.metrics)}`)
            .join('\n'),
        );
      }),
    );

  urlOption(
    reg.command('alias <name> <alias> <version>').description('point an alias (e.g. champion) at a version'),
  ).action(async (name: string, alias: string, version: string, o: UrlFlag) =>
    withStore(o, async (s) => {
      await s.setAlias(name, alias, int(version, 'version', 1));
      console.log(`models:/${name}@${alias} -> v${version}`);
    }),
  );

  urlOption(reg.command('unalias <name> <alias>').description('remove an alias')).action(
    async (name: string, alias: string, o: UrlFlag) =>
      withStore(o, async (s) => {
        await s.setAlias(name, alias, null);
        console.log(`removed models:/${name}@${alias}`);
      }),
  );

  urlOption(reg.command('history <name>').description('alias moves of a model, oldest first'))
    .option('--json')
    .action(async (name: string, o: UrlFlag & { json?: boolean }) =>
      withStore(o, async (s) => {
        const h = await s.aliasHistory(name);
        print(o.json, h, () =>
          h
            .map(
              (e) =>
                `${new Date(e.at).toISOString()}\t@${e.alias}\t${e.version === null ? 'removed' : 'v' + e.version}`,
            )
            .join('\n'),
        );
      }),
    );

  urlOption(reg.command('tag <name> <version> <key> <value>').description('set a tag on a model version')).action(
    async (name: string, version: string, key: string, value: string, o: UrlFlag) =>
      withStore(o, async (s) => {
        await s.setModelVersionTag(name, int(version, 'version', 1), key, value);
      }),
  );

  urlOption(
    reg.command('resolve <uri>').description('models:/<name>@<alias> or models:/<name>/<version> -> local ONNX path'),
  )
    .option('--json')
    .action(async (uri: string, o: UrlFlag & { json?: boolean }) =>
      withStore(o, async (s) => {
        const r = await resolveModelUri(uri, s);
        print(
          o.json,
          {
            name: r.name,
            version: r.version,
            onnxPath: r.onnxPath,
            weightsPath: r.weightsPath,
            signature: r.signature,
          },
          () => r.onnxPath,
        );
      }),
    );
}

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** The warning `lathe ui` prints when it listens beyond loopback (undefined on loopback). */
export function exposureWarning(host: string): string | undefined {
  if (isLoopback(host)) return undefined;
  return (
    [
      '',
      `!!! WARNING: lathe ui listens on ${host}, not on loopback.`,
      '!!! Anyone who can reach this machine can READ every run (params, lineage argv, host names, artifacts) without a token,',
      '!!! and anyone who learns the token (it travels in clear over HTTP) can WRITE notes, tags and registry aliases.',
      '!!! Prefer the default 127.0.0.1 with an SSH tunnel (ssh -L 5005:127.0.0.1:5005 <host>).',
      '',
    ].join('\n') + '\n'
  );
}

/** Registers `lathe track ...`, `lathe registry ...` and `lathe ui`. */
export function registerTrack(program: Command): void {
  registerTrackCommands(program);
  registerRegistryCommands(program);
  urlOption(
    program
      .command('ui')
      .description(
        'serve the tracking web UI and REST API on 127.0.0.1 (writes need the printed token; env LATHE_UI_TOKEN)',
      ),
  )
    .option('--port <n>', 'port (0 = any free port)', '5005')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option(
      '--allow-host <names>',
      'comma-separated extra host names the Host header may carry (e.g. a DNS name of this machine)',
    )
    .option('--sweep-ms <ms>', 'how often to mark runs of dead writers and remove their temp files', '30000')
    .option(
      '--studies <url>',
      'a `lathe tune` storage whose studies the UI shows (sqlite:///file.db or postgres://...; default $LATHE_TUNE_STORAGE)',
    )
    .action(
      async (o: UrlFlag & { port: string; host: string; allowHost?: string; sweepMs: string; studies?: string }) => {
        const port = int(o.port, '--port', 0);
        const sweepIntervalMs = int(o.sweepMs, '--sweep-ms', 0);
        const allowedHosts = (o.allowHost ?? '')
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean);
        let store: TrackingStore;
        try {
          store = await openStore(o.trackingUrl);
        } catch (err) {
          throw new CliError(`cannot open tracking store '${trackingUrl(o.trackingUrl)}': ${(err as Error).message}`);
        }
        const studiesUrl = o.studies ?? process.env.LATHE_TUNE_STORAGE;
        let studies: TuneStudySource | undefined;
        if (studiesUrl) {
          try {
            studies = await TuneStudySource.open(studiesUrl);
          } catch (err) {
            await store.close();
            throw new CliError(`--studies: cannot open tune storage '${studiesUrl}': ${(err as Error).message}`);
          }
        }
        const { openUrl, app } = await startUi({ store, studies, host: o.host, port, allowedHosts, sweepIntervalMs });
        console.log(
          `lathe ui: ${openUrl}  (store: ${trackingUrl(o.trackingUrl)}${studiesUrl ? `; studies: ${studiesUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}` : ''})`,
        );
        console.log(
          `lathe ui: writes (notes, tags, aliases) need the token in that URL${process.env.LATHE_UI_TOKEN ? ' (from LATHE_UI_TOKEN)' : '; set LATHE_UI_TOKEN to keep one across restarts'}`,
        );
        const warning = exposureWarning(o.host);
        if (warning) process.stderr.write(warning);
        const stop = (): void => {
          void app
            .close()
            .then(() => store.close())
            .then(() => studies?.close())
            .then(() => process.exit(0));
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      },
    );
}
