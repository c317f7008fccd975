// A thin React binding for uPlot: creates the chart once per options
// change, feeds it new data in place, and follows its container's width.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface UPlotChartProps {
  /** Options without width; rebuilt (and the chart re-created) when this object changes. */
  options: Omit<uPlot.Options, 'width'>;
  data: uPlot.AlignedData;
  className?: string;
  label: string;
}

export function UPlotChart({ options, data, className, label }: UPlotChartProps) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const latestData = useRef(data);
  latestData.current = data;

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const width = Math.max(el.clientWidth, 50);
    const u = new uPlot({ ...options, width } as uPlot.Options, latestData.current, el);
    chart.current = u;
    // jsdom has no ResizeObserver; charts there keep their first width.
    const ro = typeof ResizeObserver !== 'undefined'
      ? new ResizeObserver(() => {
          const w = Math.max(el.clientWidth, 50);
          if (w !== u.width) u.setSize({ width: w, height: u.height });
        })
      : undefined;
    ro?.observe(el);
    return () => {
      ro?.disconnect();
      u.destroy();
      chart.current = null;
    };
  }, [options]);

  useEffect(() => {
    chart.current?.setData(data);
  }, [data]);

  return <div ref={ref} className={className} role="img" aria-label={label} />;
}
