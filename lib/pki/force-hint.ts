/** The command that replaces the whole PKI, which messages about a damaged or expired CA point to. */
export const FORCE_HINT = 'npm run certs -- --force';
