import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ReportedError, UsageError, userMessage } from './errors';

/**
 * One command-line layer for every entry point: a command declares its flags once (name, type,
 * help), and gets the same parser, the same `--help` text layout and the same exit codes:
 * 0 done, 1 failed, 2 wrong usage.
 */

export interface FlagSpec {
  readonly type: 'boolean' | 'string';
  /** Shown in --help: what the flag does. */
  readonly help: string;
  /** Shown in --help after the flag, e.g. `NAME`. */
  readonly value?: string;
  /** May be given more than once; the value is then a list. */
  readonly multiple?: boolean;
}

export interface CommandSpec {
  /** How the user runs it, e.g. `npm run synth --`. */
  readonly usage: string;
  /** What the command does, a few lines. */
  readonly description: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
}

export type ParsedFlags = Record<string, string | boolean | string[] | undefined>;

export const EXIT_USAGE = 2;

export function helpText(spec: CommandSpec): string {
  const flags = { ...spec.flags, help: { type: 'boolean', help: 'show this help' } as FlagSpec };
  const left = (name: string, flag: FlagSpec) => `--${name}${flag.type === 'string' ? ` ${flag.value ?? 'VALUE'}` : ''}`;
  const width = Math.max(...Object.entries(flags).map(([name, flag]) => left(name, flag).length));
  const lines = Object.entries(flags).map(([name, flag]) => `  ${left(name, flag).padEnd(width)}   ${flag.help}`);
  return `Usage: ${spec.usage}${Object.keys(spec.flags).length ? ' [flags]' : ''}\n\n${spec.description}\n\nFlags:\n${lines.join('\n')}`;
}

/** Parses `args` strictly: an unknown flag, a missing value or a stray argument is a UsageError. */
export function parseFlags(spec: CommandSpec, args: readonly string[]): ParsedFlags & { help?: boolean } {
  const options = Object.fromEntries(Object.entries({ ...spec.flags, help: { type: 'boolean' } as FlagSpec })
    .map(([name, flag]) => [name, { type: flag.type, multiple: flag.multiple ?? false }]));
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
    if (positionals.length) throw new UsageError(`unexpected argument(s): ${positionals.join(' ')}`);
    for (const [name, value] of Object.entries(values)) {
      if (value === '' || (Array.isArray(value) && value.includes(''))) throw new UsageError(`--${name} needs a value`);
    }
    return values as ParsedFlags;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(usageProblem(error as Error & { code?: string }));
  }
}

/** node:util's parseArgs errors in the words of this project's other messages. */
function usageProblem(error: Error & { code?: string }): string {
  const flag = /'(--?[^' ]+)/.exec(error.message)?.[1] ?? '';
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown flag ${flag}`;
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /argument missing/.test(error.message) ? `${flag} needs a value` : `${flag} takes no value`;
  }
  return error.message;
}

/** A flag that counts something (`--runs=7`): a whole number above 0, or `fallback` when absent. */
export function countFlag(flags: ParsedFlags, name: string, fallback: number): number {
  const value = flags[name];
  if (value === undefined) return fallback;
  const count = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`--${name} needs a whole number above 0`);
  return count;
}

/** The arguments after the script itself, whether it runs as `node scripts/x.mjs` or `npx zx scripts/x.mjs`. */
export function scriptArgs(scriptPath: string, argv: readonly string[] = process.argv): string[] {
  const index = argv.findIndex((arg, i) => i > 0 && resolve(arg) === scriptPath);
  return argv.slice(index === -1 ? 2 : index + 1);
}

/** What a failed run prints, and its exit code. */
export function failure(spec: CommandSpec, error: unknown): { code: number; text?: string } {
  if (error instanceof UsageError) return { code: EXIT_USAGE, text: `✖ ${error.message}\n\n${helpText(spec)}` };
  if (error instanceof ReportedError) return { code: 1 };
  const message = userMessage(error);
  return { code: 1, text: `✖ ${message ?? (error instanceof Error ? error.stack : String(error))}` };
}

/**
 * Every entry point's one way in and out: parses the command line (`--help` answers and exits 0),
 * runs `main` with the flags, and turns what it throws into one ✖ line and an exit code — 2 for a
 * usage mistake (with the help), 1 for anything else (a stack trace only for a bug).
 */
export async function runCli(
  spec: CommandSpec,
  main: (flags: ParsedFlags) => Promise<void>,
  args: readonly string[] = process.argv.slice(2),
): Promise<void> {
  try {
    const flags = parseFlags(spec, args);
    if (flags.help) {
      console.log(helpText(spec));
      return;
    }
    await main(flags);
  } catch (error) {
    const { code, text } = failure(spec, error);
    if (text) console.error(text);
    process.exitCode = code;
  }
}
