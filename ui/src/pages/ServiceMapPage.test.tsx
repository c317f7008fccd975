import { describe, expect, it } from 'vitest';
import type { Node } from '@xyflow/react';
import type { DependencyEdge, Service } from '../api/types';
import { edgeGeometry, type Box, type Point } from '../lib/edgeGeometry';
import { layout } from './ServiceMapPage';

const service = (name: string): Service => ({ name, spanCount: 10, errorCount: 0, function: false });
const call = (parent: string, child: string, calls: number, p95Ms: number): DependencyEdge => ({
  parent,
  child,
  calls,
  errors: 0,
  p95DurationNano: p95Ms * 1e6,
});

const box = (n: Node): Box => ({ x: n.position.x, y: n.position.y, width: 190, height: 56 });
const near = (a: number, b: number) => Math.abs(a - b) < 0.01;
const within = (v: number, lo: number, hi: number) => v > lo - 0.01 && v < hi + 0.01;
/** p lies on b's outline. */
const onBorder = (p: Point, b: Box) =>
  ((near(p.x, b.x) || near(p.x, b.x + b.width)) && within(p.y, b.y, b.y + b.height)) ||
  ((near(p.y, b.y) || near(p.y, b.y + b.height)) && within(p.x, b.x, b.x + b.width));

describe('service map', () => {
  // ping calls pong 3 times, pong calls ping 7 times: dagre puts one of them
  // left of the other, so one of the two edges runs right to left.
  const graph = layout([service('ping'), service('pong')], [call('ping', 'pong', 3, 100), call('pong', 'ping', 7, 400)]);
  const node = (id: string) => box(graph.nodes.find((n) => n.id === id)!);
  const edge = (id: string) => graph.edges.find((e) => e.id === id)!;
  const drawn = (id: string) => {
    const e = edge(id);
    return edgeGeometry(node(e.source), node(e.target), (e.data as { bend: number }).bend);
  };

  it('labels each direction of a two-way pair with its own figures', () => {
    expect(edge('ping->pong').label).toBe('3 calls · p95 100 ms');
    expect(edge('pong->ping').label).toBe('7 calls · p95 400 ms');
    expect(graph.edges.every((e) => e.type === 'call')).toBe(true);
  });

  it('draws each edge of a pair from its source border to its target border, on its own curve', () => {
    const there = drawn('ping->pong');
    const back = drawn('pong->ping');
    expect(onBorder(there.start, node('ping'))).toBe(true);
    expect(onBorder(there.end, node('pong'))).toBe(true);
    expect(onBorder(back.start, node('pong'))).toBe(true);
    expect(onBorder(back.end, node('ping'))).toBe(true);
    // The labels sit apart, each on its own side of the line between the boxes.
    expect(Math.hypot(there.label.x - back.label.x, there.label.y - back.label.y)).toBeGreaterThan(40);
    expect(there.path).not.toBe(back.path);
    // Both stay between the boxes, never off the canvas.
    for (const g of [there, back]) {
      const xs = [node('ping').x, node('pong').x + 190];
      expect(g.label.x).toBeGreaterThan(Math.min(...xs));
      expect(g.label.x).toBeLessThan(Math.max(...xs));
    }
  });

  it('draws a one-way edge straight between the boxes', () => {
    const one = layout([service('a'), service('b')], [call('a', 'b', 1, 5)]);
    expect(one.edges[0].data).toEqual({ bend: 0 });
    const [a, b] = ['a', 'b'].map((id) => box(one.nodes.find((n) => n.id === id)!));
    const g = edgeGeometry(a, b, 0);
    expect(g.start.x).toBeCloseTo(a.x + a.width);
    expect(g.end.x).toBeCloseTo(b.x);
    expect(g.label.y).toBeCloseTo(a.y + a.height / 2);
  });
});
