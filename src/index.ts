// Public API of lathe. Each layer re-exports from its own index; the areas are also subpaths of the package
// ('lathe/nn', 'lathe/optim', 'lathe/data', 'lathe/train', 'lathe/models', 'lathe/serve', 'lathe/track', 'lathe/tune', 'lathe/compress',
// 'lathe/deploy', 'lathe/advise', 'lathe/distributed').
export * from './graph/index.js';
export * from './autodiff/index.js';
export { compile, type CompileOptions, type CompiledFn } from './runtime/compile.js';
export { trace, type InputSpec, type TraceResult, type Traced } from './onnx/trace.js';
export type { Device, SessionConfig } from './runtime/device.js';
export { summarizeProfile, formatProfile, type OpProfileRow } from './runtime/profile.js';
export { emitModel, DEFAULT_OPSET, DEFAULT_IR_VERSION, type GraphSpec, type EmitOptions } from './onnx/emit.js';
export { exportOnnx, exportModel, type ExportOptions } from './onnx/export.js';
export { importOnnx, UnsupportedOnnxError, type ImportedGraph } from './onnx/import.js';
export * as nn from './nn/index.js';

export * as optim from './optim/index.js';
export * from './train/index.js';
export * as models from './models/index.js';
export * as serve from './serve/index.js';
export * as track from './track/index.js';
export * as tune from './tune/index.js';
export * as compress from './compress/index.js';
export * as data from './data/index.js';
export * as deploy from './deploy/index.js';
export * as advise from './advise/index.js';
export * as distributed from './distributed/index.js';
