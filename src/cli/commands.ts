import type { Command } from 'commander';
import { registerTune } from './tune.js';
import { registerTrack } from './track.js';
import { registerServe } from './serve.js';
import { registerTrain } from './train.js';
import { registerModels } from './models.js';
import { registerDeploy } from './deploy.js';
import { registerSample } from './sample.js';
import { registerDesign, registerExpert, registerLrFind, registerProfile } from './expert.js';
import { registerCompress } from './compress.js';
import { registerNerf } from './nerf.js';

/** Each area adds its commands here; the functions live beside their area's CLI file. */
export function registerCommands(program: Command): void {
  registerTrain(program);
  registerModels(program);
  registerSample(program);
  registerTune(program);
  registerTrack(program);
  registerServe(program);
  registerDeploy(program);
  registerExpert(program);
  registerDesign(program);
  registerLrFind(program);
  registerProfile(program);
  registerCompress(program);
  registerNerf(program);
}
