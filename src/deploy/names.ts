// Kubernetes object names. The strictest rule any generated object has is a Service's: an RFC 1035 label
// (lowercase letters, digits and '-', starting with a letter, ending alphanumeric, at most 63 characters).
// Knative and KServe add suffixes ('-00001', '-predictor'), so names stay 10 characters under that.

const LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Room left for the longest suffix a controller appends (`-predictor-00001` is 16; KServe trims the rest). */
export const MAX_NAME_LENGTH = 53;

/** Why `name` cannot name the generated objects, or undefined when it can. */
export function kubernetesNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_NAME_LENGTH)
    return `'${name}' is ${name.length} characters; at most ${MAX_NAME_LENGTH} (Kubernetes allows 63, and KServe/Knative append suffixes)`;
  if (!LABEL.test(name))
    return `'${name}' is not a valid Kubernetes name: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit (RFC 1035 label)`;
  return undefined;
}
