import { which } from 'zx';
import { commandLimit } from '../deploy/command-limits';
import type { ToolCheck } from '../deploy/tool-checks';
import { StepFailure } from '../util/errors';
import { bounded, outputOf, shown, type Runbook } from './runbook';

/**
 * Fails unless kubectl knows `context`: a typo in --context must stop before anything is deployed or
 * deleted. `hint` says how to get the context.
 */
export async function checkContext(
  probe: Runbook['probe'], context: string, hint = 'check the name given to --context, or point KUBECONFIG at the file that holds it',
): Promise<void> {
  const known = (await probe('kubectl', ['config', 'get-contexts', '-o', 'name'])).split('\n').map((line) => line.trim()).filter(Boolean);
  if (!known.includes(context)) {
    throw new StepFailure(`kubectl has no context '${context}' (it knows: ${known.join(', ') || 'none'})`, { hint });
  }
}

/**
 * Checks every tool before anything runs: a missing one and one whose probe fails (docker without an
 * engine) are all reported together, each with what to do, so one run lists everything to fix.
 */
export async function preflight(tools: readonly ToolCheck[], { cwd }: { cwd: string }): Promise<string> {
  const problems: string[] = [];
  for (const { tool, probe, missingHint, brokenHint, outputProblem } of tools) {
    if (!(await which(tool, { nothrow: true }))) {
      problems.push(`${tool}: not found on PATH — ${missingHint}`);
      continue;
    }
    const result = await bounded(tool, probe, { cwd });
    if (result.timedOut) {
      problems.push(`${tool}: \`${shown(tool, probe)}\` did not answer within ${commandLimit(tool, probe, process.env).seconds} s — ${brokenHint}`);
    } else if (result.code !== 0) {
      const why = outputOf(result).split('\n')[0];
      problems.push(`${tool}: \`${shown(tool, probe)}\` failed${why ? ` (${why})` : ''} — ${brokenHint}`);
    } else {
      const problem = outputProblem?.(result.stdout);
      if (problem) problems.push(`${tool}: ${problem}`);
    }
  }
  if (problems.length) {
    const count = problems.length === 1 ? 'a required tool is' : `${problems.length} required tools are`;
    throw new StepFailure(`${count} missing or not working:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return tools.map(({ tool }) => tool).join(', ');
}
