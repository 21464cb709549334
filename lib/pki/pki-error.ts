import { UserError } from '../util/errors';

/** Damaged or inconsistent key material: the message names the file and the fix. */
export class PkiError extends UserError {}

/** The command that replaces the whole PKI, which messages about a damaged or expired CA point to. */
export const FORCE_HINT = 'npm run certs -- --force';
