import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../lib/config/config';
import { track } from './child-processes';
import { natsServerConfig, shippedNatsValues, type NatsServerConfig } from './nats-server-config';
import { natsServerBin } from './tools';

/**
 * A real nats-server on a free loopback port — the chart's version, built by `npm run tools` —
 * configured by `natsServerConfig`: the same TLS mapping and users the Helm values give the
 * deployed server. Stop it in afterAll.
 */

export interface NatsServerOptions {
  readonly config: Config;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly readyTimeoutMs?: number;
  /** Rewrites the chart's settings before the server reads them: a server that is not configured like ours. */
  readonly adjust?: (config: NatsServerConfig) => object;
}

export interface RunningNatsServer {
  /** `tls://127.0.0.1:<port>`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Everything the server logged so far (connections, TLS and authorization errors). */
  logs(): string;
  /** Resolves with the first log text after offset `since` that matches, e.g. the server's reason for refusing a client. */
  waitForLog(pattern: RegExp, since: number, timeoutMs?: number): Promise<string>;
  /**
   * Rewrites the server's configuration file from `config` (same files and `adjust`) and sends SIGHUP,
   * as the chart's config reloader does; resolves once the server logged the reload, and rejects
   * with the server's reason when it refused it. Without `config` the file is rewritten unchanged,
   * so the server re-reads its certificate and key files.
   */
  reload(config?: Config, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const LISTENING = /Listening for client connections on [^\s]*:(\d+)/;
const READY = /Server is ready/;
const RELOADED = /Reloaded server configuration|Failed to reload server configuration: .*/;

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Resolves with what `onOutput` finds once a chunk of the server's output shows it is ready (it
 * returns a value); rejects when the binary cannot start, the server exits first, or `timeoutMs`
 * passes — naming `name` and quoting `log()`. `onOutput` also keeps the caller's copy of the log.
 */
export function whenReady<T>(
  child: ChildProcess, name: string, timeoutMs: number, onOutput: (chunk: string) => T | undefined, log: () => string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready after ${timeoutMs} ms:\n${log()}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      const ready = onOutput(chunk.toString('utf8'));
      if (ready !== undefined) {
        clearTimeout(timer);
        resolve(ready);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${child.spawnfile}: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${log()}`));
    });
  });
}

/** Starts nats-server with port -1 (it picks a free port) and resolves once it accepts clients. */
export async function startNatsServer(options: NatsServerOptions): Promise<RunningNatsServer> {
  const bin = natsServerBin();
  const dir = mkdtempSync(join(tmpdir(), 'nats-server-'));
  const configFile = join(dir, 'nats-server.json');
  const writeConfig = (config: Config) => {
    const serverConfig = natsServerConfig(shippedNatsValues(config), {
      host: HOST, port: -1, caFile: options.caFile, certFile: options.certFile, keyFile: options.keyFile,
    });
    writeFileSync(configFile, JSON.stringify(options.adjust ? options.adjust(serverConfig) : serverConfig, null, 2));
  };
  writeConfig(options.config);

  const child = track(spawn(bin, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  const cleanUp = async () => {
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };

  let port: number;
  try {
    let listening: number | undefined;
    port = await whenReady(child, 'nats-server', options.readyTimeoutMs ?? 10000, (chunk) => {
      output += chunk;
      listening ??= Number(LISTENING.exec(output)?.[1]) || undefined;
      return listening !== undefined && READY.test(output) ? listening : undefined;
    }, () => output);
  } catch (error) {
    await cleanUp();
    throw error;
  }

  const waitForLog = async (pattern: RegExp, since: number, timeoutMs = 3000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(output.slice(since));
      if (match) return match[0];
      if (Date.now() > deadline) throw new Error(`nats-server logged nothing matching ${pattern} within ${timeoutMs} ms:\n${output.slice(since)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  let currentConfig = options.config;

  return {
    url: `tls://${HOST}:${port}`,
    host: HOST,
    port,
    logs: () => output,
    waitForLog,
    reload: async (config = currentConfig, timeoutMs = 10_000) => {
      writeConfig(config);
      currentConfig = config;
      const mark = output.length;
      child.kill('SIGHUP');
      const outcome = await waitForLog(RELOADED, mark, timeoutMs);
      if (outcome.startsWith('Failed')) throw new Error(`nats-server refused the reload: ${outcome}`);
    },
    stop: cleanUp,
  };
}
