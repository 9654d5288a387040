import type { Command } from 'commander';

/** Registers the `lathe serve` command family. */
export function registerServe(_program: Command): void {}
