import { UserError } from '../util/errors.js';

/** An error meant for the person at the terminal: printed without a stack, with an exit code (2 = bad input). */
export class CliError extends UserError {
  constructor(
    message: string,
    readonly exitCode: number = 2,
  ) {
    super(message);
  }
}
