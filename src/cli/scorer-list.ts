/** `rank-models scorers`: every scorer with its inputs, tasks, direction and citation (text or JSON). */
import { UsageError } from '../core/errors.js';
import { coreScorerIds, scorerIds, scorers } from '../core/scorers/index.js';
import { describeDomain, paramFlag } from '../core/scorers/params.js';

function wantsJson(argv: readonly string[]): boolean {
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json' || a === '--format=json') json = true;
    else if (a === '--format=table') json = false;
    else if (a === '--format' || a === '-f') {
      const v = argv[++i];
      if (v !== 'json' && v !== 'table') throw new UsageError(`scorers ${a}: expected json or table, got '${v ?? ''}'`);
      json = v === 'json';
    } else throw new UsageError(`scorers: unknown argument '${a}' (see rank-models scorers --help)`);
  }
  return json;
}

export function renderScorerList(argv: readonly string[]): string {
  const json = wantsJson(argv);
  const list = scorerIds.map((id) => ({
    id,
    title: scorers[id].title,
    inputs: [...scorers[id].inputs],
    tasks: [...scorers[id].tasks],
    higher_is_better: scorers[id].higherIsBetter,
    default: coreScorerIds.includes(id),
    description: scorers[id].description,
    cost: scorers[id].cost,
    citation: scorers[id].citation,
    params: Object.entries(scorers[id].params ?? {}).map(([name, spec]) => ({
      name,
      flag: paramFlag(id, name),
      type: spec.type,
      default: spec.default,
      accepts: describeDomain(spec),
      help: spec.help,
    })),
  }));
  if (json) return JSON.stringify(list, null, 2) + '\n';
  const pad = ' '.repeat(4);
  return list
    .map(
      (s) =>
        `${s.id} — ${s.title} (${s.higher_is_better ? 'higher' : 'lower'} is better)${s.default ? ' · default' : ''}\n` +
        `${pad}inputs: ${s.inputs.join(', ')} · tasks: ${s.tasks.join(', ')}\n` +
        `${pad}${s.description}\n` +
        `${pad}cost: ${s.cost}\n` +
        s.params.map((p) => `${pad}${p.flag} (${p.accepts}; default ${String(p.default)}): ${p.help}\n`).join('') +
        `${pad}${s.citation}\n`,
    )
    .join('\n');
}
