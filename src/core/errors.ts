/**
 * Typed errors. Each class has a stable `code`; the CLI maps codes to exit
 * codes in exactly one place (src/cli/exit-codes.ts).
 */

export type ErrorCode = 'usage' | 'input' | 'scorer' | 'gate' | 'internal';

export class RankModelsError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad option or manifest: exit 2. */
export class UsageError extends RankModelsError {
  constructor(message: string) {
    super('usage', message);
  }
}

/**
 * A file that cannot be read or does not hold what it should. Messages name
 * the file, what was expected and what was found.
 */
export class InputError extends RankModelsError {
  readonly file: string | undefined;
  constructor(message: string, file?: string) {
    super('input', file !== undefined && !message.startsWith(file) ? `${file}: ${message}` : message);
    this.file = file;
  }
}

/** A scorer that cannot produce a value for this model (degenerate input). */
export class ScorerError extends RankModelsError {
  constructor(message: string) {
    super('scorer', message);
  }
}
