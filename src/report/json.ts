/** JSON and NDJSON reporters over the versioned report contract. */
import type { Report } from './report.js';

/** Full-precision numbers; NaN/Inf cannot occur (failed cells are null with a status). */
export function renderJson(r: Report): string {
  return JSON.stringify(r, null, 2) + '\n';
}

/** One line per model in ranked order, for streaming consumers. */
export function renderNdjson(r: Report): string {
  const position = new Map(r.ranking.order.map((n, i) => [n, i + 1]));
  return (
    r.models
      .map((m) => JSON.stringify({ position: position.get(m.name) ?? null, ...m }))
      .join('\n') + '\n'
  );
}
