/**
 * Terminal table: position, model, D, one column per scorer (value and its
 * rank), the aggregate when several scorers ran, and status; then a footer
 * saying how the models were ordered, the best model (or the tie for first),
 * notes and footnotes. The only chalk user; colour is decided by the CLI
 * (TTY, NO_COLOR, FORCE_COLOR, --color). Names from inputs are escaped and
 * long ones shortened in the middle (the JSON keeps them whole).
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { scorers, type ScorerId } from '../core/scorers/index.js';
import {
  aggregateLabel,
  bestText,
  featureDim,
  formatScore,
  orderingText,
  positionText,
  probsSummary,
  rankText,
  type ModelReport,
  type Report,
} from './report.js';
import { escapeControls, shorten } from './text.js';

type Align = 'left' | 'right';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const visibleLength = (s: string): number => Array.from(s.replace(ANSI, '')).length;

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

const title = (id: string): string => scorers[id as ScorerId]?.title ?? id;

export function renderTable(r: Report, opts: { color: boolean }): string {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  const ids = r.scorers.map((s) => s.id);
  const showAggregate = r.ranking.method === 'mean-rank';
  const show = (name: string): string => escapeControls(name);

  const header = ['#', 'model', 'D', ...ids.map((id) => `${title(id)} ${scorers[id].higherIsBetter ? '↑' : '↓'}`)];
  if (showAggregate) header.push(aggregateLabel(r));
  header.push('status');
  const align: Align[] = ['right', 'left', 'right', ...ids.map((): Align => 'right')];
  if (showAggregate) align.push('right');
  align.push('left');

  const notes: string[] = [];
  const best = new Set(r.ranking.tie.length > 0 ? r.ranking.tie : r.ranking.best !== null ? [r.ranking.best] : []);
  const rows = r.models.map((m) => {
    const shown = shorten(show(m.name));
    const name = best.has(m.name) ? c.bold.green(shown) : m.status === 'error' ? c.red(shown) : shown;
    const cells = [positionText(r, m), name, String(featureDim(m) ?? '-')];
    for (const id of ids) {
      const s = m.scores[id];
      if (!s) cells.push(c.dim('-'));
      else if (s.value !== null) cells.push(`${formatScore(s.value)} ${c.dim(rankText(s))}`);
      else {
        notes.push(`${show(m.name)} · ${id}: ${escapeControls(s.message)}`);
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
  const n = r.task.n_samples;
  const what = r.task.type === 'classification' ? `${r.task.n_classes} classes` : `${r.task.n_targets} target column(s)`;
  out.push(c.dim(`${r.task.type} · ${n} samples · ${what} · ${orderingText(r, title)}`));
  const bestLine = bestText(r, (name) => c.bold.green(show(name)));
  out.push(bestLine ?? c.red('no model could be ranked'));
  for (const note of r.ranking.notes) out.push(c.yellow(`note: ${escapeControls(note)}`));
  const probs = probsSummary(r);
  if (probs) out.push(c.dim(escapeControls(probs)));
  notes.forEach((note, i) => out.push(c.dim(`[${i + 1}] ${note}`)));
  return out.join('\n') + '\n';
}
