// `lathe train --nproc N`: the local launcher. It starts N ranks of `lathe train` on this host (rendezvous on a free
// 127.0.0.1 port, each rank ⌊cores / N⌋ ORT threads, at least 1), passes rank 0's output through and prefixes the
// others' on stderr. When a rank fails, it stops the others; with restarts left (--max-restarts) it starts the whole
// group again from the run's last checkpoint (like torchrun's elastic restarts), so a lost rank costs the work since
// that checkpoint.
import { freePort } from '../util/free-port.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** What the launcher needs: ranks, restarts, the run directory, and the `lathe train` arguments of a rank. */
export interface LaunchOptions {
  readonly nproc: number;
  readonly maxRestarts: number;
  /** The run directory (its last.json decides whether a restart resumes). */
  readonly runDir: string;
  /** The CLI arguments of one rank, without the rank flags: `resume` after a failure when a checkpoint exists. */
  readonly args: (resume: boolean) => string[];
}

/** ORT threads per rank: ⌊cores / ranks⌋, at least 1. */
const threadsPerRank = (nproc: number, cores = availableParallelism()): number =>
  Math.max(1, Math.floor(cores / nproc));

interface Exit {
  readonly rank: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Runs the group until it succeeds or the restarts are spent; resolves to the exit code for the launcher. */
export async function launchLocal(opts: LaunchOptions): Promise<number> {
  const threads = threadsPerRank(opts.nproc);
  let children: ChildProcess[] = [];
  const forward = (sig: NodeJS.Signals) => {
    for (const c of children) if (c.exitCode === null) c.kill(sig);
  };
  const onInt = () => forward('SIGINT');
  const onTerm = () => forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    for (let attempt = 0; ; attempt++) {
      const resume = attempt > 0 && existsSync(join(opts.runDir, 'last.json'));
      const port = await freePort();
      const exits: Promise<Exit>[] = [];
      children = [];
      for (let rank = 0; rank < opts.nproc; rank++) {
        const args = [
          process.argv[1],
          ...opts.args(resume),
          ...(attempt > 0 && !resume ? ['--overwrite'] : []),
          '--rank',
          String(rank),
          '--world-size',
          String(opts.nproc),
          '--master',
          `127.0.0.1:${port}`,
          '--threads',
          String(threads),
        ];
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        const prefix = `[rank ${rank}] `;
        createInterface({ input: child.stdout }).on('line', (l) =>
          rank === 0 ? process.stdout.write(`${l}\n`) : process.stderr.write(`${prefix}${l}\n`),
        );
        createInterface({ input: child.stderr }).on('line', (l) => process.stderr.write(`${prefix}${l}\n`));
        exits.push(new Promise((resolve) => child.on('exit', (code, signal) => resolve({ rank, code, signal }))));
        console.log(JSON.stringify({ event: 'rank_started', rank, pid: child.pid, attempt, resume, threads }));
      }
      // the first failure stops the group
      const first = await Promise.race(
        exits
          .map((e) => e.then((x) => (x.code === 0 ? new Promise<Exit>(() => undefined) : x)))
          .concat(Promise.all(exits).then(() => ({ rank: -1, code: 0, signal: null }))),
      );
      if (first.rank === -1) return 0;
      // the others notice the lost rank through the collective and stop with an error naming it; give them 5 s to
      // say so, then SIGTERM, then SIGKILL
      const term = setTimeout(() => forward('SIGTERM'), 5_000);
      const kill = setTimeout(() => forward('SIGKILL'), 15_000);
      const all = await Promise.all(exits);
      clearTimeout(term);
      clearTimeout(kill);
      // name the rank that died: killed by a signal other than the SIGTERM sent here, else the first to fail
      const culprit = all.find((x) => x.signal !== null && x.signal !== 'SIGTERM') ?? first;
      const how = culprit.signal ? `was killed by ${culprit.signal}` : `exited with code ${culprit.code}`;
      if (attempt >= opts.maxRestarts) {
        console.error(
          `lathe: rank ${culprit.rank} ${how}; the group stopped${opts.maxRestarts ? ` (no restarts left of --max-restarts ${opts.maxRestarts})` : ''}`,
        );
        return 1;
      }
      console.error(
        `lathe: rank ${culprit.rank} ${how}; restarting all ${opts.nproc} ranks ${existsSync(join(opts.runDir, 'last.json')) ? 'from the last checkpoint' : 'from the start (no checkpoint yet)'} (restart ${attempt + 1} of ${opts.maxRestarts})`,
      );
    }
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
