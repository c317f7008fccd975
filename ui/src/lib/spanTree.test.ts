import { describe, expect, it } from 'vitest';
import { span } from '../test/spans';
import { axisTicks, buildSpanTree, collapseBelow, spanMarks, visibleNodes, type WaterfallSpan } from './spanTree';

const ids = (nodes: { span: WaterfallSpan }[]) => nodes.map((n) => n.span.spanId);

describe('buildSpanTree', () => {
  it('nests children under parents, ordered by start, whatever the input order', () => {
    const tree = buildSpanTree([
      span('c2', 'root', 30, 5),
      span('gc', 'c1', 12, 2),
      span('root', '', 0, 50),
      span('c1', 'root', 10, 10),
    ]);
    expect(ids(tree.roots)).toEqual(['root']);
    expect(ids(visibleNodes(tree, new Set()))).toEqual(['root', 'c1', 'gc', 'c2']);
    expect(tree.byId.get('gc')!.depth).toBe(2);
    expect(tree.byId.get('root')!.descendants).toBe(3);
    expect(tree.startMs).toBe(0);
    expect(tree.endMs).toBe(50);
  });

  it('keeps spans whose parent is missing as marked roots', () => {
    const tree = buildSpanTree([span('a', '', 0, 10), span('lost', 'not-here', 5, 1)]);
    expect(ids(tree.roots)).toEqual(['a', 'lost']);
    expect(tree.byId.get('lost')!.orphan).toBe(true);
    expect(tree.byId.get('a')!.orphan).toBe(false);
  });

  it('survives parent cycles and self-parents without losing spans', () => {
    const tree = buildSpanTree([span('x', 'y', 0, 1), span('y', 'x', 1, 1), span('self', 'self', 2, 1)]);
    const shown = ids(visibleNodes(tree, new Set()));
    expect(shown.sort()).toEqual(['self', 'x', 'y']);
  });

  it('keeps the first copy of a duplicated span id', () => {
    const tree = buildSpanTree([span('a', '', 0, 10, { name: 'first' }), span('a', '', 0, 10, { name: 'second' })]);
    expect(tree.byId.size).toBe(1);
    expect(tree.byId.get('a')!.span.name).toBe('first');
  });

  it('handles a 10,000-deep chain without recursion limits', () => {
    const spans = Array.from({ length: 10_000 }, (_, i) => span(`s${i}`, i === 0 ? '' : `s${i - 1}`, i, 10_000 - i));
    const tree = buildSpanTree(spans);
    expect(tree.byId.get('s9999')!.depth).toBe(9999);
    expect(visibleNodes(tree, new Set())).toHaveLength(10_000);
  });

  it('lists the services it saw', () => {
    const tree = buildSpanTree([span('a', '', 0, 1, { service: 'web' }), span('b', 'a', 0, 1, { service: 'db' })]);
    expect(tree.services).toEqual(['db', 'web']);
  });

  it('gives an empty tree for no spans', () => {
    const tree = buildSpanTree([]);
    expect(tree.roots).toEqual([]);
    expect(tree.endMs - tree.startMs).toBe(0);
  });
});

describe('visibleNodes', () => {
  it('hides the subtree of a collapsed span but not the span itself', () => {
    const tree = buildSpanTree([span('r', '', 0, 10), span('a', 'r', 1, 1), span('a1', 'a', 1, 1), span('b', 'r', 2, 1)]);
    expect(ids(visibleNodes(tree, new Set(['a'])))).toEqual(['r', 'a', 'b']);
    expect(ids(visibleNodes(tree, new Set(['r'])))).toEqual(['r']);
  });

  it('collapseBelow folds only spans at or below the depth that have children', () => {
    const tree = buildSpanTree([span('r', '', 0, 10), span('a', 'r', 1, 1), span('a1', 'a', 1, 1), span('b', 'r', 2, 1)]);
    expect([...collapseBelow(tree, 1)]).toEqual(['a']);
  });
});

describe('spanMarks', () => {
  it('marks init spans, cold starts, timeouts and errors', () => {
    expect(spanMarks(span('i', '', 0, 1, { name: 'init' })).init).toBe(true);
    expect(spanMarks(span('c', '', 0, 1, { coldStart: true })).coldStart).toBe(true);
    const t = spanMarks(span('t', '', 0, 1, { errorType: 'timeout' }));
    expect(t.timeout && t.error).toBe(true);
    expect(spanMarks(span('e', '', 0, 1, { status: 'ERROR' })).error).toBe(true);
    expect(spanMarks(span('ok', '', 0, 1)).error).toBe(false);
  });
});

describe('axisTicks', () => {
  it('uses round steps that cover the whole trace', () => {
    expect(axisTicks(1000)).toEqual([0, 200, 400, 600, 800, 1000]);
    const t = axisTicks(7.3);
    expect(t[0]).toBe(0);
    expect(t.at(-1)!).toBeLessThanOrEqual(7.3);
    expect(t.length).toBeGreaterThan(2);
    expect(axisTicks(0)).toEqual([0]);
  });
});
