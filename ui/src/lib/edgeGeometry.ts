// Where the service map draws an arrow between two boxes. Edges run from
// box centre to box centre, cut at the boxes' borders, so an arrow points
// the right way whichever side of its caller dagre put the callee (a call
// back up a chain included). The two edges of a pair that call each other
// bow out to opposite sides, each with its label on its own curve.

export interface Box {
  x: number; // left
  y: number; // top
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface EdgeGeometry {
  /** SVG path from the source's border to the target's. */
  path: string;
  start: Point;
  end: Point;
  /** The curve's midpoint, where its label goes. */
  label: Point;
}

/** How far (px) the midpoint of each edge of a two-way pair sits off the straight line. */
export const PAIR_BEND = 36;

const centre = (b: Box): Point => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 });

/** Where a ray from the box's centre in direction d leaves the box. */
function border(b: Box, d: Point): Point {
  const c = centre(b);
  const tx = d.x === 0 ? Infinity : b.width / 2 / Math.abs(d.x);
  const ty = d.y === 0 ? Infinity : b.height / 2 / Math.abs(d.y);
  const t = Math.min(tx, ty);
  if (!Number.isFinite(t)) return c;
  return { x: c.x + d.x * t, y: c.y + d.y * t };
}

/**
 * The arrow from source to target. bend > 0 bows it to the left of its
 * direction of travel: the reverse edge of a pair, given the same bend,
 * travels the other way and so bows to the other side.
 */
export function edgeGeometry(source: Box, target: Box, bend = 0): EdgeGeometry {
  const s = centre(source);
  const t = centre(target);
  const dx = t.x - s.x;
  const dy = t.y - s.y;
  const len = Math.hypot(dx, dy) || 1;
  const normal = { x: dy / len, y: -dx / len };
  // A quadratic curve passes half way to its control point at t = 0.5.
  const control = { x: (s.x + t.x) / 2 + normal.x * 2 * bend, y: (s.y + t.y) / 2 + normal.y * 2 * bend };
  const start = border(source, { x: control.x - s.x, y: control.y - s.y });
  const end = border(target, { x: control.x - t.x, y: control.y - t.y });
  const label = {
    x: 0.25 * start.x + 0.5 * control.x + 0.25 * end.x,
    y: 0.25 * start.y + 0.5 * control.y + 0.25 * end.y,
  };
  const f = (p: Point) => `${round(p.x)},${round(p.y)}`;
  return { path: `M ${f(start)} Q ${f(control)} ${f(end)}`, start, end, label };
}

const round = (n: number) => Math.round(n * 10) / 10;
