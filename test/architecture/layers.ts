// The layering of src/: for each folder, the folders it may import and why. Dependencies point down only; the
// test beside this file (layering.test.ts) fails when a file imports against this table, so the rule lives in CI
// and not in a drawing. Changing a row is a design decision: write the reason next to the edge.

export type Layers = Readonly<Record<string, Readonly<Record<string, string>>>>;

export const LAYERS: Layers = {
  util: {},
  distributed: {
    util: 'UserError for bad rendezvous settings; the collective, rendezvous and sampler need nothing else',
  },
  graph: {
    util: 'nothing yet beyond plain helpers; the graph is the floor every engine layer stands on',
  },
  autodiff: {
    graph: 'reverse mode reads the VJP rule each primitive carries and emits ordinary ops',
    util: 'plain helpers',
  },
  onnx: {
    graph: 'emits traced graphs as ModelProto and imports ONNX files as graphs',
    util: 'atomic file writes, the version written as producer_version',
  },
  runtime: {
    graph: 'NDArray ↔ ORT tensors, dtype tables',
    onnx: 'compile() traces to a ModelProto and encodes it for the session',
    util: 'plain helpers',
  },
  nn: {
    graph: 'layers are compositions of ops',
    autodiff: 'grad inside layers (gradient penalties)',
    onnx: 'Module export and OnnxModule (imported graphs as modules)',
    util: 'the one RNG (initializers), atomic writes',
  },
  optim: {
    graph: 'update rules are graph ops (the optimizer step is part of the training graph)',
    util: 'plain helpers',
  },
  data: {
    graph: 'NDArray and dtype types of samples and batches',
    util: 'the one RNG (keyed data streams), atomic writes, package root for bundled data',
  },
  models: {
    graph: 'architectures are compositions of ops',
    autodiff: "WGAN-GP's gradient penalty differentiates the critic inside its objective (grad-of-grad)",
    nn: 'layers and Module',
    onnx: 'decoder export for cached generation',
    runtime: 'compiled generation loops',
    util: 'plain helpers',
  },
  train: {
    graph: 'losses, metrics and the step graph are ops',
    autodiff: 'the step graph differentiates the loss',
    onnx: 'the step graph is emitted as ONNX; the model written after training',
    runtime: 'sessions and ping-pong state for the step',
    nn: 'Module, losses, export',
    optim: 'optimizers and schedules named by configs',
    models: 'configs name zoo models',
    data: 'datasets, loaders, tokenizers named by configs',
    distributed:
      'data-parallel training: the step all-reduces gradients through the Collective interface, the sharded loader uses the distributed sampler, the rank guards use its checksum',
    util: 'atomic writes, versions in checkpoints',
  },
  compress: {
    graph: 'rewrites graphs (quantize/dequantize, pruning masks)',
    autodiff: 'quantization-aware training differentiates through fake-quant',
    onnx: 'reads and writes models',
    runtime: 'calibration and measured speedups run sessions',
    nn: 'modules to compress',
    optim: 'fine-tuning after pruning',
    models: 'zoo models as teachers and students',
    data: 'calibration data',
    train: 'QAT and distillation train through the Trainer',
    util: 'plain helpers',
  },
  track: {
    util: 'the one SQL layer with dialects (util/sql, shared with tune), study types, atomic writes, versions for lineage',
  },
  tune: {
    util: 'the one SQL layer (util/sql) and study types (util/study-types.ts), shared with track; the one RNG for samplers',
  },
  serve: {
    data: 'predict decodes its inputs (images, IDX files) with the data layer',
    graph: 'the one dtype table',
    onnx: 'model metadata',
    runtime: 'session and device options',
    util: 'version, atomic writes',
  },
  deploy: {
    serve:
      'artifacts run lathe serve and reuse its config schema; the serverless handlers reuse its OIP parsing and encoding',
    onnx: 'reads model metadata for manifests',
    graph: 'the one dtype table: OIP datatypes to ONNX Runtime element types in the serverless handlers',
    runtime: 'the Lambda handler creates its session with runtime/session.ts, like every lathe session',
    train: 'the k8s-train target validates the training config it ships as `lathe train` does (train/config.ts)',
    util: 'plain helpers',
  },
  advise: {
    graph: 'inspects graphs',
    onnx: 'reads models',
    nn: 'inspects modules',
    models: 'proposes zoo models',
    data: 'inspects datasets',
    train: 'reads runs and configs',
    track: 'reads tracked runs',
    util: 'plain helpers',
    autodiff: 'dynamic review differentiates the loss to read per-layer gradients and trace a NaN to its op',
    runtime: 'dynamic review, design latency, lr-find and profile run ORT sessions (runtime/session.ts)',
    optim: 'review and lr-find run the optimizer a config names for a few steps',
  },
  cli: {
    '*': 'the CLI wires the layers together (tune objectives that train, tune trials logged to track, registry models served)',
  },
  '(root)': {
    '*': 'src/index.ts is the package facade: it re-exports every layer',
  },
};
