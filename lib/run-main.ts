import { userMessage } from './errors';

/**
 * Runs a command-line entry point: an error the user can act on exits 1 with one line, without a
 * stack trace; anything else is a bug and keeps its stack.
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(`✖ ${userMessage(error) ?? (error instanceof Error ? error.stack : String(error))}`);
    process.exitCode = 1;
  });
}
