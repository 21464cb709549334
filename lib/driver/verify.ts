import { chalk } from 'zx';
import { runCli, scriptArgs } from '../util/cli';
import { certificateWarnings } from '../verify/keys';
import { loadVerifyOptions, VERIFY_COMMAND } from '../verify/options';
import { formatProgress } from '../verify/progress';
import { formatReport, isListed, summarize } from '../verify/report';
import { runVerify } from '../verify/verify';

/** Past the checks' own deadline: only a bug in them could still be running by then. */
const WATCHDOG_GRACE_MS = 5000;

/**
 * Ends the process once everything printed is written. The checks close what they open; this is
 * the last guard, so that nothing a server does can keep `verify` (and up after it) waiting.
 */
function exit(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

function startWatchdog(timeoutMs: number): void {
  setTimeout(() => {
    const limit = (timeoutMs + WATCHDOG_GRACE_MS) / 1000;
    console.error(chalk.red(`✖ the checks did not end within ${limit} s although they are bounded by --timeout: a bug in the checks runVerify runs (lib/verify/)`));
    exit(1);
  }, timeoutMs + WATCHDOG_GRACE_MS).unref();
}

/**
 * `npm run verify`: proves the running deployment answers as configured — http-echo through Traefik
 * (over HTTP, and over HTTPS with a certificate from our CA), NATS over mutual TLS admitting only the
 * authorized identities, each with the permissions it is configured with, and presenting
 * keys/server.crt; in a cluster every server answers by name. Certificates close to expiry are
 * warned about. Exit 0: every check matched (warnings or not); 1: a check failed, a degraded cluster
 * too (or the configuration/keys are unusable); 2: wrong flags.
 */
export async function verify(scriptPath: string): Promise<void> {
  await runCli(VERIFY_COMMAND, async (flags) => {
    const options = loadVerifyOptions(flags, process.cwd(), process.env);
    console.log(`Checking ${options.echoUrl}, ${options.httpsUrl} and ${options.natsUrl} with the keys in ${options.keys.dir} ` +
      `(giving up after ${options.timeoutMs / 1000} s)`);
    const warnings = certificateWarnings(options);
    startWatchdog(options.timeoutMs);
    const results = await runVerify(
      options,
      (result) => {
        if (isListed(result, options)) console.log(`${result.ok ? chalk.green('✔') : chalk.red('✖')} ${result.check}: ${result.got}`);
      },
      { onProgress: (progress) => console.log(chalk.dim(formatProgress(progress))) },
    );
    const passed = results.every((result) => result.ok);
    console.log(`\n${formatReport(results, options)}\n`);
    for (const { detail } of results) if (detail) console.log(detail);
    for (const warning of warnings) console.log(chalk.yellow(warning));
    console.log(passed ? chalk.green(`✔ ${summarize(results, options)}`) : chalk.red(`✖ ${summarize(results, options)}`));
    process.exitCode = passed ? 0 : 1;
  }, scriptArgs(scriptPath));
  exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
}
