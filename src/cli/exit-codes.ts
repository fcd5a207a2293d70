/** The one table from outcome to exit code (specs/cli.md §6). */
import { RankModelsError, type ErrorCode } from '../core/errors.js';

export const ExitCode = {
  ok: 0,
  partial: 1,
  usage: 2,
  input: 3,
  gate: 4,
  internal: 70,
} as const;

const byErrorCode: Record<ErrorCode, number> = {
  usage: ExitCode.usage,
  input: ExitCode.input,
  scorer: ExitCode.input,
  gate: ExitCode.gate,
  internal: ExitCode.internal,
};

export function getExitCode(err: unknown): number {
  return err instanceof RankModelsError ? byErrorCode[err.code] : ExitCode.internal;
}
