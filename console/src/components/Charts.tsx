// Small charts drawn as SVG and HTML: bars are all the usage page needs, and a chart library would cost more
// than the rest of the console. Each chart has its numbers as a table too, for screen readers and for copying.

import { formatDate, formatInteger, formatUsd } from "../lib/format";

export interface Line {
  key: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

function DataTable({ caption, lines, keyLabel, formatKey }: { caption: string; lines: Line[]; keyLabel: string; formatKey?: (key: string) => string }) {
  return (
    <details class="chart-data">
      <summary>{caption}: the numbers</summary>
      <table class="compact">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{keyLabel}</th>
            <th scope="col">Calls</th>
            <th scope="col">Tokens in</th>
            <th scope="col">Tokens out</th>
            <th scope="col">Cost</th>
          </tr>
        </thead>
        <tbody>
          {lines.map((line) => (
            <tr key={line.key}>
              <th scope="row">{formatKey ? formatKey(line.key) : line.key}</th>
              <td>{formatInteger(line.calls)}</td>
              <td>{formatInteger(line.inputTokens)}</td>
              <td>{formatInteger(line.outputTokens)}</td>
              <td>{formatUsd(line.costUsd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

/** The days from `since` to today (UTC), each with its line or zero: a day without calls still has its place. */
export function everyDay(lines: Line[], days: number, today = new Date()): Line[] {
  const byKey = new Map(lines.map((line) => [line.key, line]));
  const result: Line[] = [];
  for (let offset = days - 1; offset >= 0; offset -= 1) {
    const day = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - offset));
    const key = day.toISOString().slice(0, 10);
    result.push(byKey.get(key) ?? { key, calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });
  }
  return result;
}

/** Cost per day as columns; calls show when every day cost nothing (the local model is free). */
export function DailyChart({ lines, title }: { lines: Line[]; title: string }) {
  const byCost = lines.some((line) => line.costUsd > 0);
  const value = (line: Line) => (byCost ? line.costUsd : line.calls);
  const max = Math.max(1e-9, ...lines.map(value));
  const width = 720;
  const height = 180;
  const gap = 2;
  const barWidth = Math.max(2, width / Math.max(1, lines.length) - gap);
  const total = lines.reduce((sum, line) => sum + value(line), 0);
  const label = `${title}: ${byCost ? formatUsd(total) : `${formatInteger(total)} calls`} over ${lines.length} days`;
  return (
    <figure class="chart">
      <figcaption>
        {title} <span class="muted small">({byCost ? "cost" : "model calls; every call was free"})</span>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={label}>
        <line x1="0" y1={height} x2={width} y2={height} class="axis" />
        {lines.map((line, index) => {
          const barHeight = (value(line) / max) * (height - 10);
          return (
            <rect
              key={line.key}
              x={index * (barWidth + gap)}
              y={height - barHeight}
              width={barWidth}
              height={barHeight}
              class="bar"
            >
              <title>
                {formatDate(line.key)}: {formatUsd(line.costUsd)}, {formatInteger(line.calls)} calls
              </title>
            </rect>
          );
        })}
        {lines.length > 0 ? (
          <>
            <text x="0" y={height + 16} class="tick">
              {formatDate(lines[0]?.key ?? "")}
            </text>
            <text x={width} y={height + 16} class="tick" text-anchor="end">
              {formatDate(lines[lines.length - 1]?.key ?? "")}
            </text>
          </>
        ) : null}
      </svg>
      <DataTable caption={title} lines={lines.filter((line) => line.calls > 0)} keyLabel="Day" formatKey={formatDate} />
    </figure>
  );
}

/** One horizontal bar per model or task, longest first. */
export function BarList({ lines, title, keyLabel }: { lines: Line[]; title: string; keyLabel: string }) {
  const byCost = lines.some((line) => line.costUsd > 0);
  const value = (line: Line) => (byCost ? line.costUsd : line.calls);
  const sorted = [...lines].sort((a, b) => value(b) - value(a));
  const max = Math.max(1e-9, ...sorted.map(value));
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {sorted.length === 0 ? <p class="empty">No model calls in this period.</p> : null}
      <ul class="bar-list">
        {sorted.map((line) => (
          <li key={line.key}>
            <span class="bar-key">{line.key.replace(/_/g, " ")}</span>
            <span class="bar-track" aria-hidden="true">
              <span class="bar-fill" style={{ width: `${(100 * value(line)) / max}%` }} />
            </span>
            <span class="bar-value">
              {formatUsd(line.costUsd)} · {formatInteger(line.calls)} calls
            </span>
          </li>
        ))}
      </ul>
      <DataTable caption={title} lines={sorted} keyLabel={keyLabel} />
    </figure>
  );
}
