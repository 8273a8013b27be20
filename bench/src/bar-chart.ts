/** A grouped bar chart as a standalone SVG document: one group per category, one bar per series, a legend. */

export interface BarSeries {
  name: string;
  /** Any SVG colour. */
  color: string;
  /** One value per category (undefined: no bar). */
  values: ReadonlyArray<number | undefined>;
}

export interface BarChartOptions {
  title: string;
  /** A line under the title (what was measured, where it comes from). */
  subtitle?: string;
  yLabel: string;
  categories: readonly string[];
  series: readonly BarSeries[];
  width?: number;
  height?: number;
  /** Formats a value printed above its bar. Default: up to two decimals. */
  formatValue?: (value: number) => string;
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A round step giving about `count` ticks over [0, max]. */
function tickStep(max: number, count: number): number {
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalized = raw / magnitude;
  const nice = normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 2.5 ? 2.5 : normalized <= 5 ? 5 : 10;
  return nice * magnitude;
}

/** Splits a category label into lines of about `width` characters for the x axis. */
function wrap(label: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of label.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.slice(0, 4);
}

export function barChart(options: BarChartOptions): string {
  const width = options.width ?? 860;
  const height = options.height ?? 440;
  const margin = { top: options.subtitle ? 64 : 48, right: 170, bottom: 84, left: 72 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const values = options.series.flatMap((series) => series.values.filter((value) => value !== undefined));
  const top = Math.max(Number.MIN_VALUE, ...values);
  const yStep = tickStep(top > 0 ? top : 1, 5);
  const yMax = Math.ceil((top > 0 ? top : 1) / yStep) * yStep;
  const format = options.formatValue ?? ((value: number) => String(Math.round(value * 100) / 100));
  const py = (y: number): number => margin.top + plotHeight - (y / yMax) * plotHeight;
  const groupWidth = plotWidth / Math.max(1, options.categories.length);
  const barWidth = Math.min(48, (groupWidth * 0.8) / Math.max(1, options.series.length));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  if (options.subtitle)
    parts.push(
      `<text x="${width / 2}" y="44" text-anchor="middle" fill="#555">${escapeXml(options.subtitle)}</text>`,
    );
  for (let y = 0; y <= yMax + yStep / 2; y += yStep) {
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#e4e4e4"/>`,
      `<text x="${margin.left - 8}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${escapeXml(format(y))}</text>`,
    );
  }
  options.categories.forEach((category, categoryIndex) => {
    const groupStart = margin.left + categoryIndex * groupWidth;
    const barsStart = groupStart + (groupWidth - barWidth * options.series.length) / 2;
    options.series.forEach((series, seriesIndex) => {
      const value = series.values[categoryIndex];
      if (value === undefined) return;
      const x = barsStart + seriesIndex * barWidth;
      const y = py(Math.max(0, value));
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(margin.top + plotHeight - y).toFixed(1)}" fill="${series.color}"/>`,
        `<text x="${(x + barWidth / 2 - 1).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-size="10">${escapeXml(format(value))}</text>`,
      );
    });
    wrap(category, Math.max(8, Math.floor(groupWidth / 7))).forEach((line, lineIndex) => {
      parts.push(
        `<text x="${(groupStart + groupWidth / 2).toFixed(1)}" y="${margin.top + plotHeight + 18 + lineIndex * 14}" text-anchor="middle">${escapeXml(line)}</text>`,
      );
    });
  });
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}" stroke="#333"/>`,
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="#333"/>`,
    `<text x="18" y="${margin.top + plotHeight / 2}" text-anchor="middle" transform="rotate(-90 18 ${margin.top + plotHeight / 2})">${escapeXml(options.yLabel)}</text>`,
  );
  options.series.forEach((series, index) => {
    const legendY = margin.top + 8 + index * 20;
    const legendX = margin.left + plotWidth + 16;
    parts.push(
      `<rect x="${legendX}" y="${legendY - 9}" width="14" height="10" fill="${series.color}"/>`,
      `<text x="${legendX + 20}" y="${legendY}">${escapeXml(series.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
