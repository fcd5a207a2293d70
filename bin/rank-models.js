#!/usr/bin/env node
// Thin shim: all logic lives in the CLI module; we only set the exit code so
// piped stdout is flushed before the process ends (never process.exit()).
import { run } from '../dist/cli/main.js';

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
