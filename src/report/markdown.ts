/** Markdown reporter, for CI job summaries and reports. */
import { scorers, type ScorerId } from '../core/scorers/index.js';
import { aggregateLabel, bestText, featureDim, formatScore, orderingText, positionText, probsSummary, rankText, type Report } from './report.js';
import { escapeControls } from './text.js';

/** Text from inputs in a table cell: controls escaped, no pipes, no HTML (job summaries render it), no Markdown emphasis. */
const escape = (s: string): string =>
  escapeControls(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([|\\`*_[\]])/g, '\\$1');

const title = (id: string): string => scorers[id as ScorerId]?.title ?? id;

export function renderMarkdown(r: Report): string {
  const ids = r.scorers.map((s) => s.id);
  const showAggregate = r.ranking.method === 'mean-rank';
  const header = ['#', 'model', 'D', ...ids.map((id) => title(id))];
  if (showAggregate) header.push(aggregateLabel(r));
  header.push('status');
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, j) => (j === 1 || j === header.length - 1 ? '---' : '---:')).join(' | ')} |`,
  ];
  const best = new Set(r.ranking.tie.length > 0 ? r.ranking.tie : r.ranking.best !== null ? [r.ranking.best] : []);
  for (const m of r.models) {
    const cells = [positionText(r, m), best.has(m.name) ? `**${escape(m.name)}**` : escape(m.name), String(featureDim(m) ?? '-')];
    for (const id of ids) {
      const s = m.scores[id];
      cells.push(!s ? '-' : s.value !== null ? `${formatScore(s.value)} ${rankText(s)}` : `${s.status}: ${escape(s.message)}`);
    }
    if (showAggregate) cells.push(m.aggregate === null ? '-' : m.aggregate.toFixed(2));
    cells.push(m.status === 'ok' ? 'ok' : `${m.status}${m.message ? `: ${escape(m.message)}` : ''}`);
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('');
  const bestLine = bestText(r, (name) => `**${escape(name)}**`) ?? 'no model could be ranked';
  lines.push(`${bestLine[0].toUpperCase()}${bestLine.slice(1)} · ${r.task.type}, ${r.task.n_samples} samples · ${orderingText(r, title)} (\`${r.ranking.method}\`)`);
  for (const note of r.ranking.notes) lines.push(`\nNote: ${escape(note)}`);
  const probs = probsSummary(r);
  if (probs) lines.push(`\n${escape(probs[0].toUpperCase() + probs.slice(1))}.`);
  return lines.join('\n') + '\n';
}
