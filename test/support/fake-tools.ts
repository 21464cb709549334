import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execFileSync } from 'node:child_process';

/**
 * Stand-ins for docker, k3d, kubectl and helm: one POSIX sh script (shell built-ins only, so a call
 * costs milliseconds, not a node start-up) installed under each name, first on PATH.
 * - Each call appends `{"tool":…,"args":[…]}` as one JSON line to FAKE_LOG.
 * - FAKE_FAIL="kubectl apply,helm template" makes every call whose command line is, or starts with,
 *   one of those comma-separated prefixes print to stderr and exit 1.
 * - k3d keeps its clusters in FAKE_K3D_STATE, one JSON object per line (k3d's `cluster list -o json`
 *   entries, every `-p` published on the load balancer as k3d v5 does); `cluster list -o json`
 *   prints them as a JSON array.
 * - kubectl config get-contexts lists FAKE_KUBE_CONTEXTS (space-separated; k3d-dev and staging).
 * - helm template prints a small manifest: the chart's StatefulSet, named after the release.
 */

export type FakeTool = 'docker' | 'k3d' | 'kubectl' | 'helm';
export const FAKE_TOOLS: readonly FakeTool[] = ['docker', 'k3d', 'kubectl', 'helm'];

export interface ToolCall {
  readonly tool: string;
  readonly args: string[];
}

const FAKE_TOOL_SOURCE = String.raw`#!/bin/sh
tool=${'$'}{0##*/}
line=$tool
json=""
for arg in "$@"; do
  case $arg in
    *'"'* | *'\'*) echo "fake $tool: cannot log an argument with a quote or backslash: $arg" >&2; exit 99 ;;
  esac
  json="$json${'$'}{json:+,}\"$arg\""
  line="$line $arg"
done
printf '{"tool":"%s","args":[%s]}\n' "$tool" "$json" >> "$FAKE_LOG"

IFS=,
for prefix in $FAKE_FAIL; do
  case $line in
    "$prefix" | "$prefix "*) echo "fake $tool: simulated failure of \"$line\"" >&2; exit 1 ;;
  esac
done
unset IFS

fail() { echo "fake $tool: $*" >&2; exit 1; }
# option NAME ARGS…: the value after NAME.
option() {
  want=$1; shift; found=""
  for arg in "$@"; do
    if [ -n "$found" ]; then echo "$arg"; return; fi
    [ "$arg" = "$want" ] && found=1
  done
}

case "$tool $1 $2" in
  "docker info "*) echo "Server Version: 27.0.0 (fake)" ;;
  "k3d version "*) echo "k3d version v5.8.3 (fake)" ;;
  "k3d cluster list")
    out=""
    if [ -e "$FAKE_K3D_STATE" ]; then
      while IFS= read -r cluster; do out="$out${'$'}{out:+,}$cluster"; done < "$FAKE_K3D_STATE"
    fi
    echo "[$out]" ;;
  "k3d cluster create")
    name=$3
    if [ -e "$FAKE_K3D_STATE" ]; then
      while IFS= read -r cluster; do
        case $cluster in *"\"name\":\"$name\""*) fail "cluster $name already exists" ;; esac
      done < "$FAKE_K3D_STATE"
    fi
    ports=""; previous=""
    for arg in "$@"; do
      if [ "$previous" = "-p" ]; then
        mapping=${'$'}{arg%%@*}
        ports="$ports${'$'}{ports:+,}\"${'$'}{mapping#*:}/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"${'$'}{mapping%%:*}\"}]"
      fi
      previous=$arg
    done
    echo "{\"name\":\"$name\",\"serversCount\":1,\"serversRunning\":1,\"nodes\":[{\"name\":\"k3d-$name-server-0\",\"role\":\"server\",\"portMappings\":{}},{\"name\":\"k3d-$name-serverlb\",\"role\":\"loadbalancer\",\"portMappings\":{$ports}}]}" >> "$FAKE_K3D_STATE"
    echo "INFO Cluster $name created successfully!" ;;
  "k3d cluster delete")
    [ -e "$FAKE_K3D_STATE" ] || fail "cluster $3 not found"
    kept=""
    while IFS= read -r cluster; do
      case $cluster in *"\"name\":\"$3\""*) ;; *) kept="$kept$cluster
" ;; esac
    done < "$FAKE_K3D_STATE"
    printf '%s' "$kept" > "$FAKE_K3D_STATE"
    echo "INFO Successfully deleted cluster $3!" ;;
  "k3d cluster start") echo "INFO Started cluster $3" ;;
  "kubectl version "*) echo "Client Version: v1.31.0 (fake)" ;;
  "kubectl config get-contexts") for context in $FAKE_KUBE_CONTEXTS; do echo "$context"; done ;;
  kubectl*)
    file=$(option -f "$@")
    if [ -n "$file" ] && [ ! -e "$file" ]; then fail "the path \"$file\" does not exist"; fi
    case " $* " in
      *" apply "*) echo "applied $file" ;;
      *" delete "*) echo "deleted $file" ;;
      *" rollout "*) echo "successfully rolled out" ;;
      *) fail "unexpected call: $line" ;;
    esac ;;
  "helm version "*) echo "v3.16.0+fake" ;;
  "helm template "*)
    values=$(option -f "$@")
    [ -e "$values" ] || fail "open $values: no such file or directory"
    printf '%s\n' '---' "# Source: $3/templates/stateful-set.yaml" 'apiVersion: apps/v1' 'kind: StatefulSet' 'metadata:' \
      "  name: $2" "  namespace: $(option --namespace "$@")" ;;
  *) fail "unexpected call: $line" ;;
esac
`;

export interface FakeToolbox {
  /** PATH holding only the chosen stand-ins, node and bash (zx runs commands through bash). */
  readonly path: string;
  readonly logFile: string;
  readonly k3dState: string;
  readonly env: NodeJS.ProcessEnv;
  calls(): ToolCall[];
  /** Replaces k3d's clusters with these `k3d cluster list -o json` entries. */
  setClusters(clusters: readonly object[]): void;
}

/** Creates the stand-ins in `dir`; leave a tool out of `tools` to simulate it being missing. */
export function fakeToolbox(dir: string, tools: readonly FakeTool[] = FAKE_TOOLS): FakeToolbox {
  const bin = join(dir, 'fake-bin');
  const runtime = join(dir, 'runtime-bin');
  mkdirSync(bin, { recursive: true });
  mkdirSync(runtime, { recursive: true });
  for (const tool of tools) {
    writeFileSync(join(bin, tool), FAKE_TOOL_SOURCE);
    chmodSync(join(bin, tool), 0o755);
  }
  // Only node and bash from the machine: its real docker and kubectl must stay out of reach.
  if (!existsSync(join(runtime, 'node'))) symlinkSync(process.execPath, join(runtime, 'node'));
  const bash = execFileSync('/bin/sh', ['-c', 'command -v bash'], { encoding: 'utf8' }).trim();
  if (!existsSync(join(runtime, 'bash'))) symlinkSync(bash, join(runtime, 'bash'));

  const logFile = join(dir, 'calls.jsonl');
  const k3dState = join(dir, 'k3d-clusters.json');
  const path = [bin, runtime].join(delimiter);
  return {
    path,
    logFile,
    k3dState,
    env: { PATH: path, FAKE_LOG: logFile, FAKE_K3D_STATE: k3dState, FAKE_KUBE_CONTEXTS: 'k3d-dev staging' },
    setClusters: (clusters) => writeFileSync(k3dState, clusters.map((cluster) => `${JSON.stringify(cluster)}\n`).join('')),
    calls: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as ToolCall) : []),
  };
}

/** A call as a command line, for readable assertions. */
export const commandLine = (call: ToolCall): string => [call.tool, ...call.args].join(' ');
