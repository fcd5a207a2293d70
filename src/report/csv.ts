/** CSV reporter (RFC 4180 quoting), one row per model in ranked order. */
import { featureDim, type Report } from './report.js';

function field(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function renderCsv(r: Report): string {
  const ids = r.scorers.map((s) => s.id);
  const header = ['position', 'model', 'status', 'd', ...ids.flatMap((id) => [id, `${id}_rank`]), 'aggregate', 'probs_kind', 'message'];
  const rows = r.models.map((m) => [
    m.position,
    m.name,
    m.status,
    featureDim(m),
    ...ids.flatMap((id) => {
      const s = m.scores[id];
      return s && s.value !== null ? [s.value, s.rank] : [null, null];
    }),
    m.aggregate,
    m.inputs.probs?.kind ?? null,
    m.message ?? null,
  ]);
  return [header, ...rows].map((row) => row.map(field).join(',')).join('\n') + '\n';
}
