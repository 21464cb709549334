import { parseArgs } from 'node:util';

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

/** Wrong flags: print the message and the help, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

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
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/^Unknown option/, 'unknown flag'));
  }
}

/**
 * The start of every entry point: parses the command line, answers --help (exit 0), and turns a
 * usage mistake into one ✖ line plus the help (exit 2). Returns the flags otherwise.
 */
export function commandLine(spec: CommandSpec, args: readonly string[] = process.argv.slice(2)): ParsedFlags {
  let flags: ParsedFlags & { help?: boolean };
  try {
    flags = parseFlags(spec, args);
  } catch (error) {
    console.error(`✖ ${(error as Error).message}\n\n${helpText(spec)}`);
    process.exit(EXIT_USAGE);
  }
  if (flags.help) {
    console.log(helpText(spec));
    process.exit(0);
  }
  return flags;
}
