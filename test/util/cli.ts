import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Path of the compiled CLI entry that sits beside this compiled test helper (works for any outDir). */
export const cliEntry = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

/** Runs `lathe <args>` in a child process and returns its output. */
export function runCli(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cliEntry, ...args], {
    encoding: 'utf8',
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    timeout: options.timeoutMs ?? 120_000,
    input: options.input,
  });
}

/** A long-running `lathe` command (a server) and the URL it printed. */
export interface CliServer {
  readonly url: string;
  /** SIGTERM, then waits for the process to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `lathe <args>` and resolves once its output shows an http://127.0.0.1:<port> URL (rejects with the output
 * so far if it exits first or takes longer than `timeoutMs`).
 */
export async function startCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliServer> {
  const child = spawn(process.execPath, [cliEntry, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`lathe ${args[0]} did not print its URL: ${out}`)),
        options.timeoutMs ?? 60_000,
      );
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`lathe ${args[0]} exited (${code}): ${out}`));
      });
    });
    return { url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
