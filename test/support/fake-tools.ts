import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Stand-ins for docker, k3d, kubectl and helm: one POSIX sh script (shell built-ins only, so a call
 * costs milliseconds, not a node start-up) installed under each name, first on PATH.
 * - Each call appends `{"tool":…,"cwd":…,"args":[…]}` as one JSON line to FAKE_LOG.
 * - FAKE_FAIL="kubectl apply,helm template" makes every call whose command line is, or starts with,
 *   one of those comma-separated prefixes print to stderr and exit 1.
 * - FAKE_HANG (same form) makes those calls wait on a `sleep` they start in the background, as a
 *   tool waiting on a server that never answers; the sleep's pid is appended to FAKE_HANG_PIDS.
 * - k3d keeps its clusters in FAKE_K3D_STATE, one JSON object per line (k3d's `cluster list -o json`
 *   entries, every `-p` published on the load balancer as k3d v5 does, `--agents N` as N agent
 *   nodes); `cluster list -o json` prints them as a JSON array. `k3d version` says FAKE_K3D_VERSION (v5.8.3). With LOG_LEVEL set
 *   in its environment k3d writes debug lines to stdout, as the real one does.
 * - kubectl version says FAKE_KUBECTL_VERSION (v1.31.0); kubectl config get-contexts lists FAKE_KUBE_CONTEXTS (comma-separated; k3d-dev and staging).
 *   With FAKE_KUBE_PROMPT set, kubectl calls that reach the cluster ask for a username on stdin, as
 *   kubectl does for a context whose user has no credentials, and fail on end-of-file.
 * - kubectl get crd/helmcharts.helm.cattle.io fails as NotFound with FAKE_NO_HELMCHART_CRD set, and so does getting
 *   helmcharts.helm.cattle.io/NAME, which otherwise prints FAKE_HELMCHART_JSON (nothing, as with --ignore-not-found).
 *   kubectl apply prints FAKE_PRUNED (comma-separated) as the objects it pruned. kubectl get job/NAME
 *   prints it, except for the first FAKE_HELM_JOB_LATE looks (no output, as with --ignore-not-found); kubectl diff
 *   exits with FAKE_DIFF_CODE (0; 1 prints a difference; more is an error).
 * - kubectl get -o json -f (up's look for objects it would take over) prints FAKE_LIVE_JSON, get namespace
 *   FAKE_NAMESPACES_JSON (both nothing by default); create -f of the Namespaces file says each one is created.
 * - helm template prints the chart's objects the deployment relies on, named after the release, in
 *   the real helm's order, or only the StatefulSet with FAKE_HELM_PARTIAL set. A path named like the
 *   chart in helm's working directory is used instead of --repo, as the real helm 3.22 does, with a
 *   warning on stderr: a folder holding a Chart.yaml "renders" (exit 0), a folder without one or a
 *   file fails with the real helm's error.
 */

export type FakeTool = 'docker' | 'k3d' | 'kubectl' | 'helm';
export const FAKE_TOOLS: readonly FakeTool[] = ['docker', 'k3d', 'kubectl', 'helm'];

export interface ToolCall {
  readonly tool: string;
  /** The working directory the tool ran in. */
  readonly cwd: string;
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
printf '{"tool":"%s","cwd":"%s","args":[%s]}\n' "$tool" "$PWD" "$json" >> "$FAKE_LOG"

IFS=,
for prefix in $FAKE_FAIL; do
  case $line in
    "$prefix" | "$prefix "*) echo "fake $tool: simulated failure of \"$line\"" >&2; exit 1 ;;
  esac
done
for prefix in $FAKE_HANG; do
  case $line in
    "$prefix" | "$prefix "*)
      echo "fake $tool: waiting for an answer that never comes" >&2
      /bin/sleep 600 &
      echo $! >> "$FAKE_HANG_PIDS"
      wait
      exit 1 ;;
  esac
done
unset IFS

if [ "$tool" = k3d ] && [ -n "${'$'}{LOG_LEVEL:-}" ]; then
  echo "DEBU[0000] Runtime Info: &{Name:docker Endpoint:/var/run/docker.sock} (fake)"
fi

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
  "k3d version"*) printf 'k3d version %s\nk3s version v1.31.5-k3s1 (default)\n' "${'$'}{FAKE_K3D_VERSION:-v5.8.3}" ;;
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
    ports=""; previous=""; agents=0
    for arg in "$@"; do
      if [ "$previous" = "-p" ]; then
        mapping=${'$'}{arg%%@*}
        ports="$ports${'$'}{ports:+,}\"${'$'}{mapping#*:}/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"${'$'}{mapping%%:*}\"}]"
      fi
      [ "$previous" = "--agents" ] && agents=$arg
      previous=$arg
    done
    running='"State":{"Running":true,"Status":"running"}'
    nodes="{\"name\":\"k3d-$name-server-0\",\"role\":\"server\",$running,\"portMappings\":{}}"
    i=0
    while [ "$i" -lt "$agents" ]; do
      nodes="$nodes,{\"name\":\"k3d-$name-agent-$i\",\"role\":\"agent\",$running,\"portMappings\":{}}"
      i=$((i + 1))
    done
    nodes="$nodes,{\"name\":\"k3d-$name-serverlb\",\"role\":\"loadbalancer\",$running,\"portMappings\":{$ports}}"
    echo "{\"name\":\"$name\",\"serversCount\":1,\"serversRunning\":1,\"agentsCount\":$agents,\"agentsRunning\":$agents,\"nodes\":[$nodes]}" >> "$FAKE_K3D_STATE"
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
  "kubectl version "*) echo "Client Version: ${'$'}{FAKE_KUBECTL_VERSION:-v1.31.0} (fake)" ;;
  "kubectl config get-contexts")
    IFS=,
    for context in $FAKE_KUBE_CONTEXTS; do echo "$context"; done ;;
  kubectl*)
    if [ -n "${'$'}{FAKE_KUBE_PROMPT:-}" ]; then
      printf 'Please enter Username: ' >&2
      read -r username || fail "error: EOF"
    fi
    # Every -f must exist, as kubectl checks them all before it applies any.
    files=""; previous=""
    for arg in "$@"; do
      if [ "$previous" = "-f" ]; then
        [ -e "$arg" ] || fail "the path \"$arg\" does not exist"
        files="$files${'$'}{files:+ }$arg"
      fi
      previous=$arg
    done
    case " $* " in
      *" get crd/helmcharts.helm.cattle.io "*)
        [ -n "${'$'}{FAKE_NO_HELMCHART_CRD:-}" ] &&
          fail 'Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io "helmcharts.helm.cattle.io" not found'
        echo "customresourcedefinition.apiextensions.k8s.io/helmcharts.helm.cattle.io" ;;
      *" get helmcharts.helm.cattle.io/"*)
        [ -n "${'$'}{FAKE_NO_HELMCHART_CRD:-}" ] && fail 'error: the server doesn'"'"'t have a resource type "helmcharts"'
        printf '%s' "${'$'}{FAKE_HELMCHART_JSON:-}" ;;
      *" get job/"*)
        # The helm controller creates its Job a moment after the HelmChart: absent for the first FAKE_HELM_JOB_LATE looks.
        late=${'$'}{FAKE_HELM_JOB_LATE:-0}
        if [ "$late" -gt 0 ]; then
          looks=0
          while IFS= read -r logged; do case $logged in *'"get","job/'*) looks=$((looks + 1)) ;; esac; done < "$FAKE_LOG"
          [ "$looks" -le "$late" ] && exit 0
        fi
        job=$(option get "$@")
        echo "job.batch/${'$'}{job#job/}" ;;
      *" get --ignore-not-found -o json -f "*)
        # The objects of the manifests that exist already: FAKE_LIVE_JSON (nothing, as when none does).
        printf '%s' "${'$'}{FAKE_LIVE_JSON:-}" ;;
      *" get namespace "*) printf '%s' "${'$'}{FAKE_NAMESPACES_JSON:-}" ;;
      *" create -f "*)
        # The Namespaces file: every "name:" line in it is a Namespace that is created.
        while IFS= read -r line; do
          case $line in *"name: "*) ;; *) continue ;; esac
          case $line in *"/"*) continue ;; esac
          echo "namespace/${'$'}{line##*name: } created"
        done < "$files" ;;
      *" wait "*) echo "condition met" ;;
      *" diff "*)
        # kubectl diff: 0 when the same, 1 with the differences on stdout, more on an error.
        code=${'$'}{FAKE_DIFF_CODE:-0}
        [ "$code" = 1 ] && printf '%s\n' "diff -u -N /tmp/LIVE/v1.Service.nats.nats-np /tmp/MERGED/v1.Service.nats.nats-np" "-  a: 1" "+  a: 2"
        [ "$code" -gt 1 ] && echo "error: fake diff failed" >&2
        exit "$code" ;;
      *" apply "*)
        echo "applied $files"
        # What kubectl apply --prune deleted, one "<resource>/<name> pruned" line each.
        IFS=,
        for object in ${'$'}{FAKE_PRUNED:-}; do echo "$object pruned"; done ;;
      *" delete "*) echo "deleted ${'$'}{files:-$*}" ;;
      *" rollout "*) echo "successfully rolled out" ;;
      *) fail "unexpected call: $line" ;;
    esac ;;
  "helm version "*) echo "v3.16.0+fake" ;;
  "helm template "*)
    # The release and the chart are the two arguments after --.
    after=""
    for arg in "$@"; do
      case $after in
        "") [ "$arg" = -- ] && after=release ;;
        release) release=$arg; after=chart ;;
        chart) chart=$arg; after=done ;;
      esac
    done
    [ "$after" = done ] || fail "Error: helm template needs NAME and CHART after --"
    if [ -e "$chart" ]; then
      echo "install.go:759: WARN local chart found in current working directory. repository url ignored chart=$chart repository=$(option --repo "$@")" >&2
      [ -d "$chart" ] || fail "Error: file '$PWD/$chart' does not appear to be a gzipped archive; got 'application/octet-stream'"
      [ -e "$chart/Chart.yaml" ] || fail "Error: Chart.yaml file is missing"
    fi
    values=$(option -f "$@")
    [ -e "$values" ] || fail "open $values: no such file or directory"
    case $release in *"$chart"*) full=$release ;; *) full=$release-$chart ;; esac
    namespace=$(option --namespace "$@")
    # object TEMPLATE API-VERSION KIND NAME
    object() {
      printf '%s\n' '---' "# Source: $chart/templates/$1.yaml" "apiVersion: $2" "kind: $3" 'metadata:' "  name: $4" "  namespace: $namespace"
    }
    # helm sorts by kind (ConfigMap, Service, StatefulSet), then by template file.
    if [ -z "${'$'}{FAKE_HELM_PARTIAL:-}" ]; then
      object config-map v1 ConfigMap "$full-config"
      object headless-service v1 Service "$full-headless"
      object service v1 Service "$full"
    fi
    object stateful-set apps/v1 StatefulSet "$full" ;;
  *) fail "unexpected call: $line" ;;
esac
`;

export interface FakeToolbox {
  /** PATH holding only the chosen stand-ins and node. */
  readonly path: string;
  readonly logFile: string;
  readonly k3dState: string;
  readonly env: NodeJS.ProcessEnv;
  calls(): ToolCall[];
  /** Pids of the processes the FAKE_HANG calls left waiting. */
  hangPids(): number[];
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
  // Only node from the machine: its real docker and kubectl must stay out of reach. No shell either:
  // the scripts start every tool directly.
  if (!existsSync(join(runtime, 'node'))) symlinkSync(process.execPath, join(runtime, 'node'));

  const logFile = join(dir, 'calls.jsonl');
  const k3dState = join(dir, 'k3d-clusters.json');
  const hangPidsFile = join(dir, 'hang-pids');
  const path = [bin, runtime].join(delimiter);
  return {
    path,
    logFile,
    k3dState,
    env: { PATH: path, FAKE_LOG: logFile, FAKE_K3D_STATE: k3dState, FAKE_KUBE_CONTEXTS: 'k3d-dev,staging', FAKE_HANG_PIDS: hangPidsFile },
    hangPids: () => (existsSync(hangPidsFile) ? readFileSync(hangPidsFile, 'utf8').split('\n').filter(Boolean).map(Number) : []),
    setClusters: (clusters) => writeFileSync(k3dState, clusters.map((cluster) => `${JSON.stringify(cluster)}\n`).join('')),
    calls: () => (existsSync(logFile)
      ? readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as ToolCall)
      : []),
  };
}

/** A call as a command line, for readable assertions. */
export const commandLine = (call: ToolCall): string => [call.tool, ...call.args].join(' ');

/** Whether `pid` is a live process; a killed one its parent did not reap (a zombie) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * The processes among `pids` still alive after up to `ms` (a killed process needs a moment to go,
 * more on a busy machine), each as its /proc stat line where there is one, to show what it is.
 */
export async function survivors(pids: readonly number[], ms = 10_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    alive = alive.filter(isAlive);
  }
  return alive.map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').trim();
    } catch {
      return String(pid);
    }
  });
}
