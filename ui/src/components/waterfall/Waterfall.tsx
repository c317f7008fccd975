// The trace waterfall: one row per span on a shared time axis, a collapsible
// span tree on the left, virtualised so a 10,000-span trace scrolls smoothly.
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { serviceColor } from '../../lib/color';
import { SpanBadges } from '../Badges';
import { counted, formatDuration } from '../../lib/format';
import {
  axisTicks,
  buildSpanTree,
  spanMarks,
  visibleNodes,
  type SpanNode,
  type SpanTree,
  type WaterfallSpan,
} from '../../lib/spanTree';

const ROW_HEIGHT = 28;
const INDENT = 14;

export interface WaterfallProps {
  spans: WaterfallSpan[];
  selectedSpanId?: string;
  onSelect: (spanId: string) => void;
}

export function Waterfall({ spans, selectedSpanId, onSelect }: WaterfallProps) {
  const tree = useMemo(() => buildSpanTree(spans), [spans]);
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const rows = useMemo(() => visibleNodes(tree, collapsed), [tree, collapsed]);
  const [active, setActive] = useState(0);
  const scrollRef = useRef<HTMLDivElement>(null);

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });

  // Let the end-to-end run time "trace data in hand → rows on screen":
  // committed to the DOM, then painted (the frame after the next).
  useLayoutEffect(() => {
    performance.mark('coldtrace:waterfall-rendered');
    let second = 0;
    const first = requestAnimationFrame(() => {
      second = requestAnimationFrame(() => performance.mark('coldtrace:waterfall-painted'));
    });
    return () => {
      cancelAnimationFrame(first);
      cancelAnimationFrame(second);
    };
  }, [tree]);

  const toggle = useCallback((spanId: string) => {
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (next.has(spanId)) next.delete(spanId);
      else next.add(spanId);
      return next;
    });
  }, []);

  // Keep the selected span visible when it is chosen from outside (a link).
  useEffect(() => {
    if (!selectedSpanId) return;
    const i = rows.findIndex((n) => n.span.spanId === selectedSpanId);
    if (i >= 0) {
      setActive(i);
      virtualizer.scrollToIndex(i, { align: 'auto' });
    }
    // Only when the selection changes, not on every expand/collapse.
  }, [selectedSpanId]);

  // Stable, so rows that stay in view skip re-rendering while scrolling.
  const selectRow = useCallback(
    (index: number, spanId: string) => {
      setActive(index);
      onSelect(spanId);
    },
    [onSelect],
  );

  const moveTo = (i: number) => {
    const clamped = Math.max(0, Math.min(rows.length - 1, i));
    setActive(clamped);
    virtualizer.scrollToIndex(clamped, { align: 'auto' });
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    const node = rows[active];
    if (!node) return;
    const pageRows = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? 280) / ROW_HEIGHT) - 1);
    switch (e.key) {
      case 'ArrowDown':
        moveTo(active + 1);
        break;
      case 'ArrowUp':
        moveTo(active - 1);
        break;
      case 'PageDown':
        moveTo(active + pageRows);
        break;
      case 'PageUp':
        moveTo(active - pageRows);
        break;
      case 'Home':
        moveTo(0);
        break;
      case 'End':
        moveTo(rows.length - 1);
        break;
      case 'ArrowRight':
        if (node.children.length === 0) break;
        if (collapsed.has(node.span.spanId)) toggle(node.span.spanId);
        else moveTo(active + 1);
        break;
      case 'ArrowLeft':
        if (node.children.length > 0 && !collapsed.has(node.span.spanId)) {
          toggle(node.span.spanId);
        } else {
          const parent = rows.findIndex((n) => n.span.spanId === node.span.parentSpanId);
          if (parent >= 0) moveTo(parent);
        }
        break;
      case 'Enter':
      case ' ':
        onSelect(node.span.spanId);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const total = Math.max(tree.endMs - tree.startMs, 1e-3);
  const ticks = axisTicks(total);
  const activeId = rows[active]?.span.spanId;

  return (
    <div className="waterfall">
      <div className="wf-toolbar">
        <span>
          {counted(tree.byId.size, 'span')} · {counted(tree.services.length, 'service')} · {formatDuration(tree.endMs - tree.startMs)}
        </span>
        <ServiceLegend services={tree.services} />
        <span className="wf-toolbar-actions">
          <button type="button" onClick={() => setCollapsed(new Set())}>
            Expand all
          </button>
          <button type="button" onClick={() => setCollapsed(collapseAll(tree))}>
            Collapse all
          </button>
        </span>
      </div>
      <div className="wf-header" aria-hidden="true">
        <div className="wf-name">Service · operation</div>
        <div className="wf-timeline">
          {ticks.map((t) => (
            <span key={t} className="wf-tick-label" style={{ left: `${(t / total) * 100}%` }}>
              {formatDuration(t)}
            </span>
          ))}
        </div>
      </div>
      <div
        className="wf-body"
        ref={scrollRef}
        role="tree"
        aria-label="Spans of the trace"
        tabIndex={0}
        // As tall as its rows, up to the CSS max-height; then it scrolls.
        style={{ height: virtualizer.getTotalSize() + 2 }}
        aria-activedescendant={activeId ? `wf-row-${activeId}` : undefined}
        onKeyDown={onKeyDown}
      >
        <div className="wf-canvas" style={{ height: virtualizer.getTotalSize() }}>
          <div className="wf-gridlines" aria-hidden="true">
            {ticks.map((t) => (
              <span key={t} style={{ left: `${(t / total) * 100}%` }} />
            ))}
          </div>
          {virtualizer.getVirtualItems().map((item) => {
            const node = rows[item.index];
            return (
              <Row
                key={node.span.spanId}
                node={node}
                top={item.start}
                traceStart={tree.startMs}
                total={total}
                collapsed={collapsed.has(node.span.spanId)}
                selected={node.span.spanId === selectedSpanId}
                active={item.index === active}
                index={item.index}
                onToggle={toggle}
                onSelect={selectRow}
              />
            );
          })}
        </div>
      </div>
    </div>
  );
}

function collapseAll(tree: SpanTree): Set<string> {
  const out = new Set<string>();
  for (const root of tree.roots) {
    // Keep the roots' direct children in view: a fully folded trace says nothing.
    for (const child of root.children) if (child.children.length) out.add(child.span.spanId);
  }
  return out;
}

function ServiceLegend({ services }: { services: string[] }) {
  if (services.length > 12) return null;
  return (
    <ul className="wf-legend" aria-label="Services">
      {services.map((s) => (
        <li key={s}>
          <span className="swatch" style={{ background: serviceColor(s) }} />
          {s}
        </li>
      ))}
    </ul>
  );
}

interface RowProps {
  node: SpanNode;
  top: number;
  traceStart: number;
  total: number;
  collapsed: boolean;
  selected: boolean;
  active: boolean;
  index: number;
  onToggle: (spanId: string) => void;
  onSelect: (index: number, spanId: string) => void;
}

const Row = memo(function Row({ node, top, traceStart, total, collapsed, selected, active, index, onToggle, onSelect }: RowProps) {
  const { span, depth, children } = node;
  const marks = spanMarks(span);
  const color = serviceColor(span.service);
  const left = ((span.startMs - traceStart) / total) * 100;
  const width = (span.durationMs / total) * 100;
  // The duration goes inside a wide bar, else after it, or before it near the right edge.
  // Not over the init span's stripes, where it would be hard to read.
  const labelPlace = width > 25 && !marks.init ? 'inside' : left + width > 75 ? 'before' : 'after';
  const classes = ['wf-row'];
  if (selected) classes.push('selected');
  if (active) classes.push('active');
  if (marks.error) classes.push('has-error');
  return (
    <div
      id={`wf-row-${span.spanId}`}
      role="treeitem"
      aria-level={depth + 1}
      aria-expanded={children.length ? !collapsed : undefined}
      aria-selected={selected}
      className={classes.join(' ')}
      style={{ transform: `translateY(${top}px)` }}
      data-span-id={span.spanId}
      data-span-name={span.name}
      onClick={() => onSelect(index, span.spanId)}
    >
      <div className="wf-name" style={{ paddingLeft: 6 + depth * INDENT }}>
        {children.length > 0 ? (
          <button
            type="button"
            className="wf-toggle"
            tabIndex={-1}
            aria-label={collapsed ? `Expand ${node.descendants} spans` : 'Collapse'}
            onClick={(e) => {
              e.stopPropagation();
              onToggle(span.spanId);
            }}
          >
            {collapsed ? '▸' : '▾'}
          </button>
        ) : (
          <span className="wf-toggle-spacer" />
        )}
        <span className="swatch" style={{ background: color }} aria-hidden="true" />
        <span className="wf-service">{span.service}</span>
        <span className="wf-op" title={span.name}>
          {span.name}
        </span>
        {collapsed && <span className="badge">+{node.descendants}</span>}
        <SpanBadges marks={marks} />
        {node.orphan && (
          <span className="badge" title="The parent span is not in this trace">
            orphan
          </span>
        )}
      </div>
      <div className="wf-timeline">
        <div
          className={`wf-bar${marks.init ? ' wf-bar-init' : ''}${marks.error ? ' wf-bar-error' : ''}`}
          style={{ left: `${left}%`, width: `${width}%`, background: color }}
        />
        <span
          className={`wf-duration${labelPlace === 'inside' ? ' inside' : ''}`}
          style={labelPlace === 'before' ? { right: `${100 - left}%` } : { left: `${left + width}%` }}
        >
          {formatDuration(span.durationMs)}
        </span>
      </div>
    </div>
  );
});
