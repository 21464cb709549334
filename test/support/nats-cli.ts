import { join } from 'node:path';

/** The real `nats` CLI (natscli v0.5.0), linked by `npm run tools -- natscli`; NATS_CLI_BIN overrides it. */
export const NATS_CLI_BIN = process.env.NATS_CLI_BIN ?? join(__dirname, '..', 'tools', '.bin', 'nats');
