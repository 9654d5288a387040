// ONNX control flow (If, Loop, Scan) for the importer: the subgraph helpers (the outer values a body reads, renaming
// them to the names they are emitted under) and the output types of the node when ORT runs it as it is.
import { dtypeFromOnnx } from '../graph/dtype.js';
import type { Dim } from '../graph/shape.js';
import type { Tensor } from '../graph/tensor.js';
import type { AttributeProto, GraphProto, NodeProto, ValueInfoProto } from './proto.js';

/** The subgraphs held by a node's attributes (GRAPH and GRAPHS). */
export function subgraphsOf(n: NodeProto): GraphProto[] {
  return n.attribute.flatMap((a) => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]);
}

/** Names a graph reads that it does not define itself (its inputs, initializers, node outputs): its captures. */
export function freeNames(g: GraphProto): string[] {
  const defined = new Set<string>([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name ?? '')]);
  const free = new Set<string>();
  for (const n of g.node) {
    const reads = [...n.input, ...subgraphsOf(n).flatMap(freeNames)];
    for (const r of reads) if (r !== '' && !defined.has(r)) free.add(r);
    for (const o of n.output) defined.add(o);
  }
  for (const o of g.output) if (!defined.has(o.name)) free.add(o.name);
  return [...free];
}

/** A copy of `g` reading `rename`'s values instead of the outer names it captures (nested bodies too). */
export function renameCaptures(g: GraphProto, rename: ReadonlyMap<string, string>): GraphProto {
  const local = new Set<string>([
    ...g.input.map((v) => v.name),
    ...g.initializer.map((t) => t.name ?? ''),
    ...g.node.flatMap((n) => n.output),
  ]);
  const inner = new Map([...rename].filter(([k]) => !local.has(k)));
  const to = (name: string) => inner.get(name) ?? name;
  const attr = (a: AttributeProto): AttributeProto => ({
    ...a,
    ...(a.g ? { g: renameCaptures(a.g, inner) } : {}),
    ...(a.graphs ? { graphs: a.graphs.map((s) => renameCaptures(s, inner)) } : {}),
  });
  return {
    ...g,
    node: g.node.map((n) => ({ ...n, input: n.input.map(to), attribute: n.attribute.map(attr) })),
    // outputs are positional: one that is an outer value directly reads it under its new name
    output: g.output.map((o) => ({ ...o, name: to(o.name) })),
  };
}

/** The dtype and shape a body declares for a value (numeric dims kept, the others fresh symbols named after `base`). */
export function declaredType(
  v: ValueInfoProto,
  base: string,
  fallbackRank?: number,
): { dtype: Tensor['dtype']; shape: Dim[] } | undefined {
  const tt = v.type?.tensorType;
  if (!tt) return undefined;
  const dims = tt.shape?.dim;
  const sym = (i: number) => `dyn_${base.replace(/\W/g, '_')}_${i}`;
  if (!dims) {
    if (fallbackRank === undefined) return undefined;
    return { dtype: dtypeFromOnnx(tt.elemType), shape: Array.from({ length: fallbackRank }, (_, i) => sym(i)) };
  }
  return {
    dtype: dtypeFromOnnx(tt.elemType),
    shape: dims.map((d, i) => ('dimValue' in d && d.dimValue !== undefined ? Number(d.dimValue) : sym(i))),
  };
}
