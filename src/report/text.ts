/**
 * Making text from inputs (model names, paths, messages) safe to print. A
 * model name comes from a file name or a manifest and may hold control
 * characters: printed raw, an escape sequence could rewrite the terminal or
 * hide a line. JSON and CSV keep names exactly (their quoting is enough); the
 * table, Markdown and stderr show them escaped.
 */

// C0 and C1 controls, DEL, and the Unicode bidirectional overrides/isolates
// (which can make a name display as a different name).
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e' };

/** Control characters shown as escapes (`\n`, `\e`, `\x07`, `\u202e`). */
export function escapeControls(s: string): string {
  return s.replace(UNSAFE, (ch) => {
    const named = NAMED[ch];
    if (named) return named;
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Longest model name the table prints in full. */
export const TABLE_NAME_MAX = 40;

/** Shortens a long name in the middle (`resnet50_imagenet…_epoch90`), keeping both ends, which tell checkpoints apart. */
export function shorten(s: string, max = TABLE_NAME_MAX): string {
  const chars = Array.from(s);
  if (chars.length <= max) return s;
  const head = Math.ceil((max - 1) / 2);
  const tail = max - 1 - head;
  return chars.slice(0, head).join('') + '…' + chars.slice(chars.length - tail).join('');
}
