import { Command } from 'commander';
import { registerCommands } from './commands.js';
import { CliError } from './errors.js';
import { UserError } from '../util/errors.js';
import { latheVersion } from '../util/version.js';

/** Entry point of the `lathe` binary. Every command is a thin layer over a library call. */
export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command();
  program.name('lathe').description('Design, train, tune, track, serve and deploy ML models in TypeScript.').version(latheVersion());
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
    throw err;
  }
}
