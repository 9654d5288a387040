import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Path of the compiled CLI entry that sits beside this compiled test helper (works for any outDir). */
export const cliEntry = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

/** Runs `lathe <args>` in a child process and returns its output. */
export function runCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cliEntry, ...args], {
    encoding: 'utf8',
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    timeout: options.timeoutMs ?? 120_000,
    input: options.input,
  });
}
