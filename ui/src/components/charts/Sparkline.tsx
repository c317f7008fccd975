import { useMemo } from 'react';
import type uPlot from 'uplot';
import { UPlotChart } from './UPlotChart';

export interface SparklineProps {
  /** Unix seconds, ascending. */
  timestamps: number[];
  values: (number | null)[];
  color: string;
  label: string;
}

export function Sparkline({ timestamps, values, color, label }: SparklineProps) {
  const options = useMemo<Omit<uPlot.Options, 'width'>>(
    () => ({
      height: 28,
      pxAlign: false,
      cursor: { show: false },
      select: { show: false, left: 0, top: 0, width: 0, height: 0 },
      legend: { show: false },
      scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, max > 0 ? max : 1] } },
      axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: color, width: 1.5, fill: `${color}33`, points: { show: false } }],
    }),
    [color],
  );
  const data = useMemo<uPlot.AlignedData>(() => [timestamps, values], [timestamps, values]);
  return <UPlotChart options={options} data={data} className="sparkline" label={label} />;
}
