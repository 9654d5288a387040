import './classic.js';
export { registerModel, getModel, modelNames, modelInputs, type ModelEntry, type ModelInput } from './registry.js';
export {
  summarize,
  formatSummary,
  nodeMacs,
  humanCount,
  type ModelSummary,
  type LayerRow,
  type SummaryInput,
} from './summary.js';
export { mlpOptions, cnnOptions } from './classic.js';
import './transformer.js';
import './rnn.js';
import './resnet.js';
import './mobilenet.js';
import './unet.js';
import './seq2seq.js';
export {
  GPT,
  EncoderClassifier,
  TransformerBlock,
  lmLoss,
  gptOptions,
  encoderClassifierOptions,
  type GPTOptions,
  type EncoderClassifierOptions,
} from './transformer.js';
export { TextGenerator, exportDecoder, sampleLogits, type GenerateOptions, type SampleOptions } from './generate.js';
export { CharRNN, RNNClassifier, charRnnOptions, rnnClassifierOptions } from './rnn.js';
export { ResNet, BasicBlock, Bottleneck, resnetOptions } from './resnet.js';
export { MobileNetV2, InvertedResidual, mobilenetOptions } from './mobilenet.js';
export {
  UNet,
  DoubleConv,
  UpBlock,
  unetOptions,
  upsampleNearest2x,
  timestepFeatures,
  type UNetOptions,
} from './unet.js';
export { Seq2Seq, seq2seqOptions, seq2seqLoss, greedyDecode, type Seq2SeqOptions } from './seq2seq.js';
import './gnn.js';
export {
  GCN,
  GAT,
  GraphSAGE,
  gcnOptions,
  gatOptions,
  graphsageOptions,
  graphLoss,
  graphAccuracy,
  GRAPH_INPUT_KEYS,
  GRAPH_BATCH_DIMS,
  type GCNOptions,
  type GATOptions,
  type GraphSAGEOptions,
} from './gnn.js';
import './vae.js';
import './gan.js';
export {
  GAN,
  Generator,
  Critic,
  ganOptions,
  criticObjective,
  generatorObjective,
  gradientPenalty,
  ganPhases,
  type GANOptions,
} from './gan.js';
export { VAE, vaeOptions, vaeObjective, vaeTerms, binarize, type VAEOptions } from './vae.js';
export type { ModelObjective, ModelPhase } from './registry.js';
export { vaeBounds, vaeLogWeights, type VaeBoundOptions, type VaeBounds } from './vae-bounds.js';
import './ddpm.js';
export { DDPM, ddpmOptions, ddpmObjective, type DDPMOptions } from './ddpm.js';
export { noiseSchedule, type NoiseSchedule, type ScheduleKind, type ScheduleOptions } from './noise-schedule.js';
export {
  GENERATIVE_METADATA_KEY,
  generativeMetadataProps,
  readGenerativeMetadata,
  type GenerativeInfo,
} from './generative.js';
export {
  sampleDiffusion,
  sessionDenoiser,
  clipPrediction,
  ddimStep,
  ddpmStep,
  toEps,
  timestepSequence,
  type Denoiser,
  type DiffusionSampleOptions,
} from './diffusion-sampler.js';
export { sampleImages, type SampleImagesOptions, type SampledImages } from './sample.js';
import './nerf.js';
export {
  NeRF,
  RadianceField,
  nerfOptions,
  nerfObjective,
  volumeRender,
  positionalEncoding,
  encodedWidth,
  stratifiedDepths,
  samplePdf,
  sampleDeltas,
  psnrFromMse,
  type NeRFOptions,
  type RenderedRays,
} from './nerf.js';
import './mamba.js';
export {
  Mamba,
  MambaBlock,
  MambaMixer,
  mambaOptions,
  type MambaOptions,
  type MambaState,
  type MambaDecodeResult,
} from './mamba.js';
