/** JSON and NDJSON reporters over the versioned report contract. */
import type { Report } from './report.js';

/** Full-precision numbers; NaN/Inf cannot occur (failed cells are null with a status). */
export function renderJson(r: Report): string {
  return JSON.stringify(r, null, 2) + '\n';
}

/** One line per model in ranked order, for streaming consumers. */
export function renderNdjson(r: Report): string {
  return r.models.map((m) => JSON.stringify(m)).join('\n') + '\n';
}
