/** Markdown reporter, for CI job summaries and reports. */
import { scorers } from '../core/scorers/index.js';
import { aggregateLabel, featureDim, formatScore, type Report } from './report.js';

const escape = (s: string): string => s.replace(/\|/g, '\\|');

export function renderMarkdown(r: Report): string {
  const ids = r.scorers.map((s) => s.id);
  const showAggregate = r.ranking.method === 'mean-rank';
  const position = new Map(r.ranking.order.map((n, i) => [n, i + 1]));
  const header = ['#', 'model', 'D', ...ids.map((id) => scorers[id].title)];
  if (showAggregate) header.push(aggregateLabel(r));
  header.push('status');
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, j) => (j === 1 || j === header.length - 1 ? '---' : '---:')).join(' | ')} |`,
  ];
  for (const m of r.models) {
    const cells = [m.aggregate === null ? '-' : String(position.get(m.name)), m.name === r.ranking.best ? `**${escape(m.name)}**` : escape(m.name), String(featureDim(m) ?? '-')];
    for (const id of ids) {
      const s = m.scores[id];
      cells.push(!s ? '-' : s.value !== null ? `${formatScore(s.value)} (${s.rank})` : `${s.status}: ${escape(s.message)}`);
    }
    if (showAggregate) cells.push(m.aggregate === null ? '-' : m.aggregate.toFixed(2));
    cells.push(m.status === 'ok' ? 'ok' : `${m.status}${m.message ? `: ${escape(m.message)}` : ''}`);
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('');
  lines.push(`Best: **${r.ranking.best ?? 'none'}** · ${r.task.type}, ${r.task.n_samples} samples · ranking method \`${r.ranking.method}\``);
  return lines.join('\n') + '\n';
}
