// lathe's expert: review (lint configs, data, models, runs, live models), design (requirements → architectures),
// lr-find and profile. docs/expert.md.
export { review, csvDataset, ReviewError, type ReviewOptions, type LiveTarget } from './review.js';
export {
  reportMarkdown,
  reportText,
  formatDiff,
  suppress,
  worstSeverity,
  type Finding,
  type ReviewReport,
  type Severity,
  type ConfigChange,
  type TargetKind,
} from './finding.js';
export { RULES, ruleIds, type RuleInfo } from './rules.js';
export { reviewCallback, type ReviewCallbackOptions } from './callback.js';
export { checkDynamic, type DynamicSpec, type DynamicResult, type LayerStats } from './dynamic-rules.js';
export { checkData, labelNoise, type DataSplit, type DataUnderReview } from './data-rules.js';
export { checkHistory, parseMetricsCsv } from './run-rules.js';
export { checkModel } from './model-rules.js';
export { checkConfig, LR_RANGE } from './config-rules.js';
export {
  design,
  DesignError,
  TASKS,
  PLATFORMS,
  type Requirements,
  type Candidate,
  type DesignResult,
  type Task,
  type Platform,
} from './design.js';
export { designStudy, type DesignStudy, type DesignStudyOptions } from './design-study.js';
export { onnxLatencyMs, syntheticBatch, type InputSpec, type LatencyOptions } from './latency.js';
export { QUALITY, type QualityRecord } from './quality.js';
export {
  profileConfig,
  profileModel,
  matmulRoofline,
  formatProfileResult,
  type ProfileResult,
  type ModuleTime,
  type Suggestion,
} from './profile.js';
export { lrFind, lrFindConfig, plotSvg, type LrFindOptions, type LrFindResult, type LrFindSpec } from './lr-find.js';
