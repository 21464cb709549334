import { UserError } from './errors';

/** Runs a command-line entry point; a UserError exits 1 with its message, without a stack trace. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(`✖ ${error instanceof UserError ? error.message : error instanceof Error ? error.stack : String(error)}`);
    process.exitCode = 1;
  });
}
