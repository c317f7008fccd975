import { useMemo } from 'react';
import uPlot from 'uplot';
import { useTheme } from '../../lib/theme';
import { chartColors } from './chartTheme';
import { UPlotChart } from './UPlotChart';

// Bars of a later series are drawn narrower, inside those of the first:
// cold starts within invocations, timeouts within errors.
const wideBars = uPlot.paths.bars?.({ size: [0.8, 40] });
const narrowBars = uPlot.paths.bars?.({ size: [0.4, 16] });

export interface Series {
  label: string;
  color: string;
  /** One value per timestamp; null = no data in that bucket. */
  values: (number | null)[];
  /** Draw as bars (counts) rather than a line (latencies). */
  bars?: boolean;
}

export interface TimeSeriesChartProps {
  title: string;
  /** Unix seconds, ascending. */
  timestamps: number[];
  series: Series[];
  formatValue: (v: number) => string;
  height?: number;
}

export function TimeSeriesChart({ title, timestamps, series, formatValue, height = 180 }: TimeSeriesChartProps) {
  const { theme } = useTheme();
  const shape = series.map((s) => `${s.label}:${s.color}:${s.bars ? 1 : 0}`).join('|');
  const options = useMemo<Omit<uPlot.Options, 'width'>>(() => {
    const c = chartColors(theme);
    const axis: uPlot.Axis = { stroke: c.axis, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid, width: 1 } };
    return {
      height,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // Half a step of room at each end, so the first and last bars (or points) are whole.
        x: {
          time: true,
          range: (u, min, max) => {
            const xs = u.data[0];
            const half = xs.length > 1 ? (xs[1] - xs[0]) / 2 : 30;
            return [min - half, max + half];
          },
        },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [axis, { ...axis, size: 60, values: (_u, vals) => vals.map((v) => formatValue(v)) }],
      series: [
        {},
        ...series.map<uPlot.Series>((s, i) => ({
          label: s.label,
          stroke: s.color,
          width: s.bars ? 0 : 2,
          fill: s.bars ? s.color : undefined,
          spanGaps: false,
          // Quantiles of sparse traffic are isolated points between gaps: draw them.
          points: { show: !s.bars, size: 5, fill: s.color },
          paths: s.bars ? (i === 0 ? wideBars : narrowBars) : undefined,
          value: (_u, v) => (v === null || v === undefined ? '–' : formatValue(v)),
        })),
      ],
    };
    // Re-created only when the look changes (theme, size, series shape); new
    // values go through setData without rebuilding the chart.
  }, [theme, height, shape]);

  const data = useMemo<uPlot.AlignedData>(() => [timestamps, ...series.map((s) => s.values)], [timestamps, series]);

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <UPlotChart options={options} data={data} label={title} />
    </figure>
  );
}
