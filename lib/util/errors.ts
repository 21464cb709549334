/**
 * An error the user can fix (bad configuration, a damaged key file, a missing tool). Entry points
 * print its message alone; any other error is a bug and keeps its stack trace. `cause` keeps the
 * underlying error for whoever debugs it.
 */
export class UserError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
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
