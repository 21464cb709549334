import type { X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { ECHO_LEAF } from '../pki/paths';
import { displayPath } from '../util/display-path';
import { BAD_CERTIFICATE_CODES, FOREIGN_CA_CODES } from './certificate-errors';
import type { KeyMaterial } from './keys';
import type { VerifyOptions } from './options';
import type { ProgressBoard } from './progress';
import { quoted, type CheckResult } from './report';
import { networkProblem, remainingMs, unreachableCause, withRetries, type Attempt } from './retry';

/** http-echo through Traefik: over HTTP, and over HTTPS with a certificate keys/ca.crt vouches for. */

/** http-echo answers a line; anything longer is not it, and need not be downloaded to know. */
const ECHO_BODY_LIMIT = 4 * 1024;

/** The body's first ECHO_BODY_LIMIT bytes, read from the stream, which is then cancelled. */
async function readBodyStart(response: Response): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size <= ECHO_BODY_LIMIT) {
      const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
      if (done || !value) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return { text: Buffer.concat(chunks).subarray(0, ECHO_BODY_LIMIT).toString('utf8'), truncated: size > ECHO_BODY_LIMIT };
}

interface EchoAttempt extends Attempt {
  readonly ok: boolean;
  readonly unreachable: boolean;
  readonly cause?: string;
}

async function attemptEcho(options: VerifyOptions, deadline: number): Promise<EchoAttempt> {
  const ms = remainingMs(deadline);
  try {
    const response = await fetch(options.echoUrl, { signal: AbortSignal.timeout(ms), redirect: 'manual' });
    const { text, truncated } = await readBodyStart(response);
    const status = `${response.status} ${response.statusText}`.trim();
    // Only a 200 is http-echo itself: Traefik answers 404 until its routes load.
    if (response.status !== 200) {
      const cause = `${options.echoUrl} answers ${status}, not http-echo: is it running, and does its Ingress route to it?`;
      return { retry: true, ok: false, unreachable: false, got: status, cause };
    }
    const body = text.trim();
    const got = `200 ${quoted(body)}${truncated ? ` (more than ${ECHO_BODY_LIMIT / 1024} KiB)` : ''}`;
    return { retry: false, ok: !truncated && body === options.echoText, unreachable: false, got };
  } catch (error) {
    const problem = networkProblem(error, ms);
    if (problem === undefined) return { retry: false, ok: false, unreachable: false, got: withCause(error) };
    return { retry: true, ok: false, unreachable: true, got: problem, cause: unreachableCause(options.echoUrl, problem) };
  }
}

/** fetch rejects with a bare "fetch failed" and the reason in `cause`, e.g. "bad port". */
function withCause(error: unknown): string {
  const { message, cause } = error as Error & { cause?: { message?: unknown } };
  return typeof cause?.message === 'string' ? `${message} (${cause.message})` : message;
}

export async function checkEcho(options: VerifyOptions, deadline: number, progress: ProgressBoard): Promise<CheckResult> {
  const started = Date.now();
  const check = `echo ${options.echoUrl}`;
  progress.waiting(check, check);
  const outcome = await withRetries(deadline, () => attemptEcho(options, deadline), (got) => progress.waiting(check, check, got));
  const { got, ok, unreachable, cause } = outcome;
  const expected = `200 ${quoted(options.echoText)}`;
  return { check, endpoint: options.echoUrl, expected, got, ok, unreachable, cause: ok ? undefined : cause, ms: Date.now() - started };
}

/** What one HTTPS request came to: an answer over a connection our CA vouches for, a certificate it does not, or an error. */
type HttpsAnswer =
  | { readonly kind: 'answered'; readonly status: number; readonly statusText: string; readonly text: string; readonly truncated: boolean }
  | { readonly kind: 'untrusted'; readonly certificate?: X509Certificate; readonly reason: string }
  | { readonly kind: 'failed'; readonly error: unknown };

/**
 * GETs `url` trusting only `ca`, within `ms`, reading at most ECHO_BODY_LIMIT bytes. The handshake
 * does not reject an untrusted certificate itself, so that the answer can say whose it is.
 */
function httpsGet(url: string, ca: string, ms: number): Promise<HttpsAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (answer: HttpsAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => settle({ kind: 'failed', error: Object.assign(new Error('timed out'), { name: 'TimeoutError' }) }), ms);
    const request = httpsRequest(url, { ca, rejectUnauthorized: false, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const answered = (): void => settle({
        kind: 'answered', status: response.statusCode ?? 0, statusText: response.statusMessage ?? '',
        text: Buffer.concat(chunks).subarray(0, ECHO_BODY_LIMIT).toString('utf8'), truncated: size > ECHO_BODY_LIMIT,
      });
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.byteLength;
        if (size > ECHO_BODY_LIMIT) answered();
      });
      response.on('end', answered);
      response.on('error', (error) => settle({ kind: 'failed', error }));
    });
    request.on('socket', (socket) => socket.once('secureConnect', () => {
      const secure = socket as TLSSocket;
      // Node has checked the chain against `ca` and the name against the URL's host by now.
      if (!secure.authorized) settle({ kind: 'untrusted', certificate: secure.getPeerX509Certificate(), reason: String(secure.authorizationError) });
    }));
    request.on('error', (error) => settle({ kind: 'failed', error }));
    request.end();
  });
}

/**
 * The subject Traefik gives the self-signed certificate it serves while no Secret matches the host
 * (its CN is `generate.DefaultDomain` in pkg/tls/generate, the same in Traefik v2 and v3.7).
 */
const TRAEFIK_DEFAULT_SUBJECT = /CN=TRAEFIK DEFAULT CERT/i;

const commonName = (certificate: X509Certificate | undefined): string =>
  /(?:^|\n)CN=([^\n]*)/.exec(certificate?.subject ?? '')?.[1] ?? 'no common name';

function judgeUntrusted(options: VerifyOptions, certificate: X509Certificate | undefined, reason: string): EchoAttempt {
  const ca = displayPath(options.keys.caCert);
  if (TRAEFIK_DEFAULT_SUBJECT.test(certificate?.subject ?? '')) {
    // Traefik serves it until it has loaded the Secret the Ingress names: worth waiting for.
    return {
      retry: true, ok: false, unreachable: false, got: `Traefik's default certificate, not one from ${ca}`,
      cause: `Traefik serves its default certificate: is the ${options.echoTlsSecret} Secret applied? (npx zx scripts/up.mjs)`,
    };
  }
  if (FOREIGN_CA_CODES.has(reason)) {
    return {
      retry: false, ok: false, unreachable: false, got: `a certificate from another CA than ${ca} (CN=${commonName(certificate)})`,
      cause: `${options.httpsUrl} serves a certificate from another CA: the ${options.echoTlsSecret} Secret is from another PKI — ` +
        'run `npm run synth` and `npx zx scripts/up.mjs`',
    };
  }
  if (BAD_CERTIFICATE_CODES.has(reason)) {
    return {
      retry: false, ok: false, unreachable: false, got: `a certificate from our CA that is not valid here (${reason})`,
      cause: `echo's certificate does not fit ${options.httpsUrl}: name its host in echo.tls.hosts, run \`npm run certs -- --renew ${ECHO_LEAF}\` ` +
        'and `npx zx scripts/up.mjs`',
    };
  }
  return { retry: false, ok: false, unreachable: false, got: `certificate not trusted (${reason})` };
}

async function attemptHttps(options: VerifyOptions, ca: string, deadline: number): Promise<EchoAttempt> {
  const ms = remainingMs(deadline);
  const answer = await httpsGet(options.httpsUrl, ca, ms);
  switch (answer.kind) {
    case 'untrusted': return judgeUntrusted(options, answer.certificate, answer.reason);
    case 'failed': {
      const problem = networkProblem(answer.error, ms);
      if (problem !== undefined) {
        return { retry: true, ok: false, unreachable: true, got: problem, cause: unreachableCause(options.httpsUrl, problem) };
      }
      return { retry: false, ok: false, unreachable: false, got: `error: ${withCause(answer.error)}` };
    }
    case 'answered': {
      const status = `${answer.status} ${answer.statusText}`.trim();
      if (answer.status !== 200) {
        const cause = `${options.httpsUrl} answers ${status}, not http-echo: does its HTTPS Ingress route to it?`;
        return { retry: true, ok: false, unreachable: false, got: status, cause };
      }
      const body = answer.text.trim();
      const got = `200 ${quoted(body)}${answer.truncated ? ` (more than ${ECHO_BODY_LIMIT / 1024} KiB)` : ''} over TLS from our CA`;
      return { retry: false, ok: !answer.truncated && body === options.echoText, unreachable: false, got };
    }
  }
}

export async function checkHttps(options: VerifyOptions, keys: KeyMaterial, deadline: number, progress: ProgressBoard): Promise<CheckResult> {
  const started = Date.now();
  const check = `echo ${options.httpsUrl}`;
  progress.waiting(check, check);
  const outcome = await withRetries(deadline, () => attemptHttps(options, keys.ca, deadline), (got) => progress.waiting(check, check, got));
  const { got, ok, unreachable, cause } = outcome;
  const expected = `200 ${quoted(options.echoText)} over TLS from our CA`;
  return { check, endpoint: options.httpsUrl, expected, got, ok, unreachable, cause: ok ? undefined : cause, ms: Date.now() - started };
}
