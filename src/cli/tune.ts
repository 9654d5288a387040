import type { Command } from 'commander';

/** Registers the `lathe tune` command family. */
export function registerTune(_program: Command): void {}
