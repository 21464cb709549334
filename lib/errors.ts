/**
 * An error the user can fix (bad configuration, a damaged key file, a missing tool). Entry points
 * print its message alone; any other error is a bug and keeps its stack trace.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
