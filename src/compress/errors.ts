import { UserError } from '../util/errors.js';

/** A model, option or data set that compression cannot work with; the message names the op, node, field or file. */
export class CompressError extends UserError {}
