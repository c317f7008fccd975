// The span model the waterfall draws, and the tree built from a flat span
// list: parent links, depth, ordering and which rows are visible when some
// subtrees are collapsed.

export type SpanStatus = 'OK' | 'ERROR' | 'UNSET';

export interface SpanEvent {
  name: string;
  /** Milliseconds from the trace's start (fractional part = sub-millisecond). */
  timeMs: number;
  attributes: Record<string, string>;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  attributes: Record<string, string>;
}

export interface WaterfallSpan {
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  service: string;
  kind: string;
  /** Milliseconds from the trace's start (fractional part = sub-millisecond). */
  startMs: number;
  durationMs: number;
  status: SpanStatus;
  statusMessage: string;
  /** A function invocation that started a new instance. */
  coldStart: boolean;
  /** error.type (timeout, out_of_memory, crash, …); empty when none. */
  errorType: string;
  /** Extra facts shown in the details panel, e.g. the invocation's billing. */
  facts: [label: string, value: string][];
  attributes: Record<string, string>;
  resource: Record<string, string>;
  events: SpanEvent[];
  links: SpanLink[];
}

/** What the waterfall marks on a span. */
export interface SpanMarks {
  coldStart: boolean;
  /** The initialization of a new instance: the runtime's `init` child of a cold-start invocation. */
  init: boolean;
  timeout: boolean;
  error: boolean;
  errorType: string;
}

export function spanMarks(s: WaterfallSpan): SpanMarks {
  return {
    coldStart: s.coldStart,
    init: s.name === 'init',
    timeout: s.errorType === 'timeout',
    error: s.status === 'ERROR' || s.errorType !== '',
    errorType: s.errorType,
  };
}

export interface SpanNode {
  span: WaterfallSpan;
  children: SpanNode[];
  depth: number;
  /** The span names a parent that is not in the trace (not yet arrived, or dropped). */
  orphan: boolean;
  /** Spans in this node's subtree, itself excluded. */
  descendants: number;
}

export interface SpanTree {
  roots: SpanNode[];
  byId: Map<string, SpanNode>;
  startMs: number;
  endMs: number;
  services: string[];
}

const byStart = (a: SpanNode, b: SpanNode) =>
  a.span.startMs - b.span.startMs || a.span.name.localeCompare(b.span.name);

export function buildSpanTree(spans: WaterfallSpan[]): SpanTree {
  const byId = new Map<string, SpanNode>();
  for (const span of spans) {
    // A duplicate span id (a resent batch) keeps the first copy.
    if (!byId.has(span.spanId)) byId.set(span.spanId, { span, children: [], depth: 0, orphan: false, descendants: 0 });
  }
  const roots: SpanNode[] = [];
  let startMs = Infinity;
  let endMs = -Infinity;
  const services = new Set<string>();
  for (const node of byId.values()) {
    const { span } = node;
    startMs = Math.min(startMs, span.startMs);
    endMs = Math.max(endMs, span.startMs + span.durationMs);
    services.add(span.service);
    const parent = span.parentSpanId && span.parentSpanId !== span.spanId ? byId.get(span.parentSpanId) : undefined;
    if (parent) {
      parent.children.push(node);
    } else {
      node.orphan = span.parentSpanId !== '';
      roots.push(node);
    }
  }
  roots.sort(byStart);
  // Iterative walk: a 10,000-deep chain must not overflow the call stack.
  // A parent cycle leaves its members unreachable from any root; they are
  // promoted to roots below so no span disappears.
  const seen = new Set<SpanNode>();
  const order: SpanNode[] = [];
  const walk = (root: SpanNode) => {
    const stack: SpanNode[] = [root];
    seen.add(root);
    while (stack.length) {
      const node = stack.pop()!;
      order.push(node);
      node.children.sort(byStart);
      for (let i = node.children.length - 1; i >= 0; i--) {
        const child = node.children[i];
        if (seen.has(child)) continue;
        seen.add(child);
        child.depth = node.depth + 1;
        stack.push(child);
      }
    }
  };
  roots.forEach(walk);
  for (const node of byId.values()) {
    if (!seen.has(node)) {
      const parent = byId.get(node.span.parentSpanId);
      if (parent) parent.children = parent.children.filter((c) => c !== node);
      node.orphan = true;
      node.depth = 0;
      roots.push(node);
      walk(node);
    }
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i];
    node.descendants = node.children.reduce((n, c) => n + 1 + c.descendants, 0);
  }
  if (!Number.isFinite(startMs)) {
    startMs = 0;
    endMs = 0;
  }
  return { roots, byId, startMs, endMs, services: [...services].sort() };
}

/** The rows shown top to bottom: a depth-first walk that skips collapsed subtrees. */
export function visibleNodes(tree: SpanTree, collapsed: ReadonlySet<string>): SpanNode[] {
  const out: SpanNode[] = [];
  const stack = [...tree.roots].reverse();
  while (stack.length) {
    const node = stack.pop()!;
    out.push(node);
    if (!collapsed.has(node.span.spanId)) {
      for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]);
    }
  }
  return out;
}

/** The ids of every span whose subtree is deeper than maxDepth levels, for a first view of a huge trace. */
export function collapseBelow(tree: SpanTree, maxDepth: number): Set<string> {
  const out = new Set<string>();
  for (const node of tree.byId.values()) {
    if (node.depth >= maxDepth && node.children.length > 0) out.add(node.span.spanId);
  }
  return out;
}

/** Tick positions (ms from trace start) for a time axis of the given length. */
export function axisTicks(totalMs: number, maxTicks = 6): number[] {
  if (!(totalMs > 0)) return [0];
  const raw = totalMs / maxTicks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = 0; t <= totalMs + step * 1e-9; t += step) ticks.push(t);
  return ticks;
}
