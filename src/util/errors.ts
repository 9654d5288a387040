/**
 * An error caused by the user's input — a bad config field, a missing or corrupt file, an unknown name — rather
 * than by lathe. Each layer throws its own subclass (ConfigError, CheckpointError, ...), and the CLI prints any
 * UserError as one line naming the field or file, with exit code 2, instead of a stack trace.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A file that is missing, truncated or not in the format it should be in (the message names the file). */
export class FileFormatError extends UserError {}
