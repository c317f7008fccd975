// The service map: who calls whom, drawn from /api/v1/dependencies. Laid
// out left to right by dagre, drawn and panned/zoomed by React Flow; both
// load only with this page.
import { useMemo } from 'react';
import dagre from '@dagrejs/dagre';
import {
  BaseEdge,
  Background,
  Controls,
  MarkerType,
  Position,
  ReactFlow,
  useInternalNode,
  type Edge,
  type EdgeProps,
  type Node,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useNavigate } from 'react-router';
import { useDependencies, useServices } from '../api/hooks';
import type { DependencyEdge, Service } from '../api/types';
import { EmptyState, ErrorState, GettingStarted, Loading } from '../components/States';
import { serviceColor } from '../lib/color';
import { edgeGeometry, PAIR_BEND, type Box } from '../lib/edgeGeometry';
import { counted, formatDuration } from '../lib/format';
import { useTheme } from '../lib/theme';
import { usePageTitle } from '../lib/usePageTitle';
import { useRangeSearch, useTimeRange } from '../lib/useTimeRange';

const NODE_W = 190;
const NODE_H = 56;

export default function ServiceMapPage() {
  usePageTitle('Service map');
  const [range] = useTimeRange();
  const deps = useDependencies(range);
  const services = useServices(range);
  // The map needs both: one "Try again" asks again for every one that failed.
  const failed = [deps, services].filter((q) => q.isError);

  return (
    <div className="page map-page">
      <header className="page-header">
        <h1>Service map</h1>
        <p className="muted">
          An arrow for every service that calls another: calls, errors and the callee's p95 duration. Click a service
          to see its traces.
        </p>
      </header>
      {deps.isPending || services.isPending ? (
        <Loading label="Loading the service map…" />
      ) : deps.isError || services.isError ? (
        <ErrorState error={failed[0].error} onRetry={() => failed.forEach((q) => void q.refetch())} />
      ) : services.data.services.length === 0 ? (
        <EmptyState title="No services in this time range">
          <GettingStarted />
        </EmptyState>
      ) : (
        <>
          {deps.data.edges.length === 0 && (
            <p className="muted" role="status">
              No service calls another in this range: each service is drawn on its own.
            </p>
          )}
          <ServiceGraph services={services.data.services} edges={deps.data.edges} />
        </>
      )}
    </div>
  );
}

/** A call edge's data: how far it bows out (a two-way pair's edges bow apart). */
type CallEdgeData = { bend: number };

export function layout(services: Service[], edges: DependencyEdge[]): { nodes: Node[]; edges: Edge[] } {
  const g = new dagre.graphlib.Graph();
  // Wide rank gaps leave room for the edge labels between the columns.
  g.setGraph({ rankdir: 'LR', nodesep: 40, ranksep: 190 });
  g.setDefaultEdgeLabel(() => ({}));
  const names = new Set(services.map((s) => s.name));
  edges.forEach((e) => (names.add(e.parent), names.add(e.child)));
  names.forEach((n) => g.setNode(n, { width: NODE_W, height: NODE_H }));
  edges.forEach((e) => g.setEdge(e.parent, e.child));
  dagre.layout(g);

  const byName = new Map(services.map((s) => [s.name, s]));
  const nodes: Node[] = [...names].map((name) => {
    const p = g.node(name);
    const s = byName.get(name);
    return {
      id: name,
      position: { x: p.x - NODE_W / 2, y: p.y - NODE_H / 2 },
      sourcePosition: Position.Right,
      targetPosition: Position.Left,
      data: {
        label: (
          <div className="map-node" style={{ borderColor: serviceColor(name) }}>
            <strong>
              {s?.function && <span title="function">λ </span>}
              {name}
            </strong>
            {s && (
              <span className="muted small">
                {counted(s.spanCount, 'span')}{s.errorCount > 0 && <span className="text-error"> · {counted(s.errorCount, 'error')}</span>}
              </span>
            )}
          </div>
        ),
      },
      style: { width: NODE_W, padding: 0, border: 'none', background: 'transparent' },
    };
  });
  const pairs = new Set(edges.map((e) => `${e.parent}->${e.child}`));
  const flowEdges: Edge<CallEdgeData>[] = edges.map((e) => ({
    id: `${e.parent}->${e.child}`,
    source: e.parent,
    target: e.child,
    type: 'call',
    data: { bend: pairs.has(`${e.child}->${e.parent}`) ? PAIR_BEND : 0 },
    label: `${counted(e.calls, 'call')}${e.errors ? ` · ${e.errors.toLocaleString('en-US')} err` : ''} · p95 ${formatDuration(e.p95DurationNano / 1e6)}`,
    markerEnd: { type: MarkerType.ArrowClosed },
    animated: false,
    className: e.errors > 0 ? 'map-edge-error' : undefined,
  }));
  return { nodes, edges: flowEdges };
}

function boxOf(node: ReturnType<typeof useInternalNode>): Box | undefined {
  if (!node) return undefined;
  const { x, y } = node.internals.positionAbsolute;
  return { x, y, width: node.measured.width ?? NODE_W, height: node.measured.height ?? NODE_H };
}

/**
 * An arrow between the boxes' borders wherever the boxes are (they can be
 * dragged), rather than from the right handle to the left one: dagre puts
 * the callee of a call back up a chain to the left of its caller.
 */
function CallEdge({
  id,
  source,
  target,
  data,
  label,
  labelStyle,
  labelShowBg,
  labelBgStyle,
  labelBgPadding,
  labelBgBorderRadius,
  markerEnd,
  style,
  interactionWidth,
}: EdgeProps<Edge<CallEdgeData>>) {
  const from = boxOf(useInternalNode(source));
  const to = boxOf(useInternalNode(target));
  if (!from || !to) return null;
  const g = edgeGeometry(from, to, data?.bend ?? 0);
  return (
    <BaseEdge
      id={id}
      path={g.path}
      labelX={g.label.x}
      labelY={g.label.y}
      label={label}
      labelStyle={labelStyle}
      labelShowBg={labelShowBg}
      labelBgStyle={labelBgStyle}
      labelBgPadding={labelBgPadding}
      labelBgBorderRadius={labelBgBorderRadius}
      markerEnd={markerEnd}
      style={style}
      interactionWidth={interactionWidth}
    />
  );
}

const edgeTypes = { call: CallEdge };

function ServiceGraph({ services, edges }: { services: Service[]; edges: DependencyEdge[] }) {
  const graph = useMemo(() => layout(services, edges), [services, edges]);
  const navigate = useNavigate();
  const search = useRangeSearch();
  const { theme } = useTheme();
  return (
    <div className="map-canvas">
      <ReactFlow
        nodes={graph.nodes}
        edges={graph.edges}
        edgeTypes={edgeTypes}
        fitView
        colorMode={theme}
        nodesConnectable={false}
        nodesDraggable
        onNodeClick={(_, node) => {
          const p = new URLSearchParams(search);
          p.set('service', node.id);
          navigate(`/traces?${p.toString()}`);
        }}
        proOptions={{ hideAttribution: false }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
