import type { Command } from 'commander';

/** Registers the `lathe track` command family. */
export function registerTrack(_program: Command): void {}
