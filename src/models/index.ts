import './classic.js';
export { registerModel, getModel, modelNames, type ModelEntry } from './registry.js';
export { mlpOptions, cnnOptions } from './classic.js';
