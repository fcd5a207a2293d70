/**
 * Terminal table: rank, model, D, one column per scorer (value and its rank),
 * the aggregate when several scorers ran, and status. The only chalk user;
 * colour is decided by the CLI (TTY, NO_COLOR, FORCE_COLOR, --color).
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { scorers } from '../core/scorers/index.js';
import { aggregateLabel, featureDim, formatScore, type ModelReport, type Report } from './report.js';

type Align = 'left' | 'right';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const visibleLength = (s: string): number => s.replace(ANSI, '').length;

function pad(s: string, width: number, align: Align): string {
  const fill = ' '.repeat(Math.max(0, width - visibleLength(s)));
  return align === 'left' ? s + fill : fill + s;
}

function statusText(m: ModelReport, c: ChalkInstance): string {
  if (m.status === 'ok') {
    const failed = Object.values(m.scores).some((s) => s && s.value === null && s.status === 'error');
    return failed ? c.yellow('partial') : c.green('ok');
  }
  if (m.status === 'skipped') return c.dim('skipped');
  return c.red('error');
}

export function renderTable(r: Report, opts: { color: boolean }): string {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  const ids = r.scorers.map((s) => s.id);
  const showAggregate = r.ranking.method === 'mean-rank';
  const position = new Map(r.ranking.order.map((n, i) => [n, i + 1]));

  const header = ['#', 'model', 'D', ...ids.map((id) => `${scorers[id].title} ${scorers[id].higherIsBetter ? '↑' : '↓'}`)];
  if (showAggregate) header.push(aggregateLabel(r));
  header.push('status');
  const align: Align[] = ['right', 'left', 'right', ...ids.map((): Align => 'right')];
  if (showAggregate) align.push('right');
  align.push('left');

  const notes: string[] = [];
  const rows = r.models.map((m) => {
    const ranked = m.aggregate !== null;
    const isBest = m.name === r.ranking.best;
    const name = isBest ? c.bold.green(m.name) : m.status === 'error' ? c.red(m.name) : m.name;
    const cells = [ranked ? String(position.get(m.name)) : '-', name, String(featureDim(m) ?? '-')];
    for (const id of ids) {
      const s = m.scores[id];
      if (!s) cells.push(c.dim('-'));
      else if (s.value !== null) cells.push(`${formatScore(s.value)} ${c.dim(`(${s.rank})`)}`);
      else {
        notes.push(`${m.name} · ${id}: ${s.message}`);
        cells.push(s.status === 'n/a' ? c.dim(`n/a[${notes.length}]`) : c.red(`error[${notes.length}]`));
      }
    }
    if (showAggregate) cells.push(m.aggregate === null ? '-' : m.aggregate.toFixed(2));
    cells.push(statusText(m, c));
    return cells;
  });

  const widths = header.map((h, j) => Math.max(visibleLength(h), ...rows.map((row) => visibleLength(row[j]))));
  const line = (cells: string[]) => cells.map((s, j) => pad(s, widths[j], align[j])).join('  ').trimEnd();
  const out = [c.bold(line(header)), c.dim(widths.map((w) => '─'.repeat(w)).join('  ')), ...rows.map(line)];

  out.push('');
  const method = r.ranking.method === 'mean-rank' ? 'mean of per-scorer ranks' : `${aggregateLabel(r).replace('rank by ', '')} score`;
  const n = r.task.n_samples;
  const what = r.task.type === 'classification' ? `${r.task.n_classes} classes` : `${r.task.n_targets} target column(s)`;
  out.push(c.dim(`${r.task.type} · ${n} samples · ${what} · ordered by ${method}`));
  if (r.ranking.best !== null) {
    const m = r.ranking.margin;
    const margin =
      m === null ? '' : r.ranking.method === 'mean-rank' ? ` (leads the next model by ${m.toFixed(2)} in mean rank)` : ` (leads the next model by ${formatScore(m)})`;
    out.push(`best: ${c.bold.green(r.ranking.best)}${margin}`);
  } else {
    out.push(c.red('no model could be ranked'));
  }
  notes.forEach((note, i) => out.push(c.dim(`[${i + 1}] ${note}`)));
  return out.join('\n') + '\n';
}
