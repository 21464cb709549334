/**
 * Every error class of the project, in one place (as nats.js keeps its own in core/src/errors.ts).
 * Each sets its `name` (stack traces and logs say which it is) and passes `cause` on, so the
 * underlying error stays for whoever debugs it.
 */

type ErrorOptions = { cause?: unknown };

/**
 * An error the user can fix (bad configuration, a damaged key file, a missing tool). Entry points
 * print its message alone; any other error is a bug and keeps its stack trace.
 */
export class UserError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Wrong flags or flag values: the entry point prints the message and the help, and exits 2 (lib/util/cli.ts). */
export class UsageError extends UserError {}

/** The configuration file (or its defaults) is invalid: one line per problem, under the file it came from. */
export class ConfigError extends UserError {
  constructor(readonly source: string, readonly problems: string[], options?: ErrorOptions) {
    // One problem is one line, as every error of the tool; several are listed under the source.
    super(problems.length === 1
      ? `Invalid configuration in ${source}: ${problems[0]}`
      : `Invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, options);
  }
}

/** A construct's props were invalid; the message names the construct, each prop, its value and the rule. */
export class InvalidPropsError extends UserError {}

/** Damaged or inconsistent key material: the message names the file and the fix. */
export class PkiError extends UserError {}

/** A driver step failed in a way the user can act on; `command` and `output` say where and why, `hint` what to do. */
export class StepFailure extends Error {
  readonly command?: string;
  readonly output?: string;
  readonly hint?: string;

  constructor(message: string, details: { command?: string; output?: string; hint?: string } = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.command = details.command;
    this.output = details.output;
    this.hint = details.hint;
  }
}

/** An error whose message was already shown to the user (a failed deploy step): exit 1 without printing it again. */
export class ReportedError extends Error {
  constructor(message = 'reported', options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A verify check got no answer before its deadline (lib/verify/jetstream.ts retries it in a new session). */
export class StepTimeout extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** What to do about a filesystem error, by its code. */
const FS_FIXES: Record<string, string> = {
  EACCES: 'permission denied: make it yours (chown) or writable by you, or choose another folder',
  EPERM: 'operation not permitted: it belongs to another user — make it yours (chown) or choose another folder',
  ENOENT: 'it does not exist (a dangling symbolic link, or a folder removed meanwhile): create it or fix the setting',
  EEXIST: 'a file is in the way where a folder is needed: move it, or choose another folder',
  ENOTDIR: 'a file is in the way where a folder is needed: move it, or choose another folder',
  EISDIR: 'a folder is in the way where a file is needed: move it',
  EROFS: 'the file system is read-only: choose a writable folder',
  ENOSPC: 'the disk is full: free some space',
};

/**
 * The one line an entry point prints for an error the user can act on: a UserError's message, or a
 * filesystem error as the operation, the path and the fix. Undefined for a bug (print its stack).
 */
export function userMessage(error: unknown): string | undefined {
  if (error instanceof UserError) return error.message;
  const { code, syscall, path } = (error ?? {}) as NodeJS.ErrnoException;
  if (typeof code === 'string' && FS_FIXES[code] && typeof path === 'string') return `cannot ${syscall ?? 'use'} ${path}: ${FS_FIXES[code]}`;
  return undefined;
}
