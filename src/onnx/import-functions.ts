// Model-local functions (ModelProto.functions) expanded at import: each call is replaced by the function's nodes,
// its formal inputs and outputs bound to the call's values, its other values renamed apart, and attribute
// references (ref_attr_name) resolved against the call's attributes or the function's defaults.
import type { LocalFunction } from './decode.js';
import { freeNames, renameCaptures } from './import-control-flow.js';
import type { AttributeProto, NodeProto } from './proto.js';

/** Nested calls deeper than this are taken for recursion, which ONNX functions may not have. */
const MAX_DEPTH = 32;

/** A function's key as a call names it. */
const functionKey = (domain: string | undefined, name: string): string => `${domain ?? ''}:${name}`;

/** `nodes` with every call of one of `functions` (recursively) replaced by the function's body. */
export function inlineFunctions(nodes: readonly NodeProto[], functions: readonly LocalFunction[]): NodeProto[] {
  const byKey = new Map<string, LocalFunction>();
  for (const f of functions) {
    const key = functionKey(f.domain, f.name);
    if (byKey.has(key))
      throw new Error(
        `importOnnx: the model defines function ${f.domain}.${f.name} twice (overloads are not supported)`,
      );
    byKey.set(key, f);
  }
  let counter = 0;
  const expand = (list: readonly NodeProto[], depth: number): NodeProto[] =>
    list.flatMap((call) => {
      const f = byKey.get(functionKey(call.domain, call.opType));
      if (!f) return [call];
      if (depth >= MAX_DEPTH)
        throw new Error(`importOnnx: function ${f.domain}.${f.name} calls itself (or nests deeper than ${MAX_DEPTH})`);
      const prefix = `${call.name || f.name}__${counter++}/`;
      const bound = new Map<string, string>();
      f.input.forEach((formal, i) => bound.set(formal, call.input[i] ?? ''));
      f.output.forEach((formal, i) => bound.set(formal, call.output[i] ?? ''));
      const to = (name: string) => (name === '' ? '' : (bound.get(name) ?? `${prefix}${name}`));
      const given = new Map(call.attribute.map((a) => [a.name, a]));
      const defaults = new Map(f.attributeProto.map((a) => [a.name, a]));
      const resolve = (a: AttributeProto): AttributeProto[] => {
        if (!a.refAttrName) return [a];
        const v = given.get(a.refAttrName) ?? defaults.get(a.refAttrName);
        return v ? [{ ...v, name: a.name }] : []; // an unset reference leaves the attribute out
      };
      // a body (If/Loop inside the function) reads function values: a function has no outer scope beyond them
      const body = f.node.map((n) => ({
        ...n,
        name: `${prefix}${n.name ?? n.opType}`,
        input: n.input.map(to),
        output: n.output.map(to),
        attribute: n.attribute
          .flatMap(resolve)
          .map((a) => (a.g ? { ...a, g: renameCaptures(a.g, new Map(freeNames(a.g).map((v) => [v, to(v)]))) } : a)),
      }));
      return expand(body, depth + 1);
    });
  return expand(nodes, 0);
}
