// Optimizers and schedules by name for configs; zod schemas give errors that name the exact field.
import { z } from 'zod';
import { adam, adamw } from './adam.js';
import { lion } from './lion.js';
import type { Optimizer } from './optimizer.js';
import { rmsprop } from './rmsprop.js';
import {
  constantLr,
  cosineWithWarmup,
  exponentialLr,
  oneCycle,
  reduceOnPlateau,
  stepLr,
  type Schedule,
} from './schedules.js';
import { sgd } from './sgd.js';

/**
 * Zod schema of an optimizer in a config, discriminated by `name` ('sgd' | 'adam' | 'adamw' | 'rmsprop' | 'lion'):
 * `lr` (positive) is required, the other hyperparameters take the optimizer's defaults; unknown keys are rejected,
 * and `parse` throws a ZodError naming the field at fault.
 */
export const optimizerConfig = z.discriminatedUnion('name', [
  z
    .object({
      name: z.literal('sgd'),
      lr: z.number().positive(),
      momentum: z.number().min(0).default(0),
      nesterov: z.boolean().default(false),
      weightDecay: z.number().min(0).default(0),
    })
    .strict(),
  z
    .object({
      name: z.literal('adam'),
      lr: z.number().positive(),
      beta1: z.number().default(0.9),
      beta2: z.number().default(0.999),
      eps: z.number().default(1e-8),
      weightDecay: z.number().min(0).default(0),
    })
    .strict(),
  z
    .object({
      name: z.literal('adamw'),
      lr: z.number().positive(),
      beta1: z.number().default(0.9),
      beta2: z.number().default(0.999),
      eps: z.number().default(1e-8),
      weightDecay: z.number().min(0).default(0.01),
    })
    .strict(),
  z
    .object({
      name: z.literal('rmsprop'),
      lr: z.number().positive(),
      alpha: z.number().default(0.99),
      momentum: z.number().min(0).default(0),
      weightDecay: z.number().min(0).default(0),
    })
    .strict(),
  z
    .object({
      name: z.literal('lion'),
      lr: z.number().positive(),
      beta1: z.number().default(0.9),
      beta2: z.number().default(0.99),
      weightDecay: z.number().min(0).default(0),
    })
    .strict(),
]);
/**
 * A parsed optimizer config (the output of {@link optimizerConfig}, defaults filled in); {@link createOptimizer}
 * turns it into an update rule.
 */
export type OptimizerConfig = z.infer<typeof optimizerConfig>;

/**
 * The update rule a config names. The learning rate is not part of the rule: it is a graph input fed every step,
 * from the schedule that `createSchedule(…, c.lr, …)` builds, or use `createTraining` for both at once.
 */
export function createOptimizer(c: OptimizerConfig): Optimizer {
  switch (c.name) {
    case 'sgd':
      return sgd({ momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weightDecay });
    case 'adam':
      return adam({ beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay });
    case 'adamw':
      return adamw({ beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay });
    case 'rmsprop':
      return rmsprop({ alpha: c.alpha, momentum: c.momentum, weightDecay: c.weightDecay });
    case 'lion':
      return lion({ beta1: c.beta1, beta2: c.beta2, weightDecay: c.weightDecay });
  }
}

/**
 * Zod schema of a learning-rate schedule in a config, discriminated by `name` ('constant' | 'step' | 'exponential' |
 * 'cosine' | 'one-cycle' | 'reduce-on-plateau'); the base rate comes from the optimizer's `lr`, unknown keys are
 * rejected, and `parse` throws a ZodError naming the field at fault.
 */
export const scheduleConfig = z.discriminatedUnion('name', [
  z.object({ name: z.literal('constant') }).strict(),
  z
    .object({
      name: z.literal('step'),
      stepSize: z.number().int().positive(),
      gamma: z.number().positive().default(0.1),
    })
    .strict(),
  z.object({ name: z.literal('exponential'), gamma: z.number().positive() }).strict(),
  z
    .object({
      name: z.literal('cosine'),
      warmup: z.number().int().min(0).default(0),
      minLr: z.number().min(0).default(0),
    })
    .strict(),
  z
    .object({
      name: z.literal('one-cycle'),
      pctStart: z.number().gt(0).lt(1).default(0.3),
      divFactor: z.number().positive().default(25),
    })
    .strict(),
  z
    .object({
      name: z.literal('reduce-on-plateau'),
      factor: z.number().gt(0).lt(1).default(0.1),
      patience: z.number().int().min(0).default(10),
    })
    .strict(),
]);
/**
 * A parsed schedule config (the output of {@link scheduleConfig}, defaults filled in); {@link createSchedule} turns
 * it into a {@link Schedule}.
 */
export type ScheduleConfig = z.infer<typeof scheduleConfig>;

/** A schedule for `lr` over `totalSteps` optimizer steps. */
export function createSchedule(c: ScheduleConfig | undefined, lr: number, totalSteps: number): Schedule {
  if (!c) return constantLr(lr);
  switch (c.name) {
    case 'constant':
      return constantLr(lr);
    case 'step':
      return stepLr(lr, c.stepSize, c.gamma);
    case 'exponential':
      return exponentialLr(lr, c.gamma);
    case 'cosine':
      return cosineWithWarmup(lr, totalSteps, { warmup: c.warmup, minLr: c.minLr });
    case 'one-cycle':
      return oneCycle(lr, totalSteps, { pctStart: c.pctStart, divFactor: c.divFactor });
    case 'reduce-on-plateau':
      return reduceOnPlateau(lr, { factor: c.factor, patience: c.patience });
  }
}

/** The optimizer and the learning-rate schedule of a config: the schedule starts from the optimizer's `lr`. */
export function createTraining(
  optimizer: OptimizerConfig,
  schedule: ScheduleConfig | undefined,
  totalSteps: number,
): { readonly optimizer: Optimizer; readonly lr: Schedule } {
  return { optimizer: createOptimizer(optimizer), lr: createSchedule(schedule, optimizer.lr, totalSteps) };
}
