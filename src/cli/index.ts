import { Command } from 'commander';
import { registerCommands } from './commands.js';
import { CliError } from './errors.js';
import { UserError } from '../util/errors.js';
import { latheVersion } from '../util/version.js';

/** Entry point of the `lathe` binary. Every command is a thin layer over a library call. */
export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command();
  program
    .name('lathe')
    .description('Design, train, tune, track, serve and deploy ML models in TypeScript.')
    .version(latheVersion());
  program.showHelpAfterError();
  registerCommands(program);
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof UserError) {
      console.error(`lathe: ${err.message}`);
      process.exitCode = err instanceof CliError ? err.exitCode : 2;
      return;
    }
    const sys = systemError(err);
    if (sys) {
      console.error(`lathe: ${sys}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

/**
 * The one-line message for an operating-system error the user can act on (a taken port, a missing or forbidden
 * path), or undefined for anything else (a bug: its stack trace is shown).
 */
export function systemError(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (!e || typeof e !== 'object' || typeof e.code !== 'string') return undefined;
  switch (e.code) {
    case 'EADDRINUSE':
      return `${e.address ?? '127.0.0.1'}:${e.port ?? '?'} is already in use (another server is listening there): choose another --port`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${e.address ?? 'that address'}: it is not an address of this machine`;
    case 'EACCES':
      return e.path
        ? `${e.path}: permission denied`
        : e.port !== undefined
          ? `port ${e.port}: permission denied (ports below 1024 need privileges)`
          : undefined;
    case 'ENOENT':
      return e.path ? `${e.path}: no such file or directory` : undefined;
    case 'EISDIR':
      return e.path ? `${e.path}: is a directory, expected a file` : undefined;
    case 'ENOTDIR':
      return e.path ? `${e.path}: not a directory` : undefined;
    default:
      return undefined;
  }
}
