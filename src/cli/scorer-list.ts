/** `rank-models scorers`: every scorer with its inputs, tasks, direction and citation (text or JSON). */
import { UsageError } from '../core/errors.js';
import { coreScorerIds, scorerIds, scorers } from '../core/scorers/index.js';

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
    citation: scorers[id].citation,
  }));
  if (json) return JSON.stringify(list, null, 2) + '\n';
  return list
    .map(
      (s) =>
        `${s.id.padEnd(8)} ${s.title} (${s.higher_is_better ? 'higher' : 'lower'} is better)\n` +
        `         inputs: ${s.inputs.join(', ')} · tasks: ${s.tasks.join(', ')}${s.default ? ' · default' : ''}\n` +
        `         ${s.description}\n         ${s.citation}\n`,
    )
    .join('');
}
