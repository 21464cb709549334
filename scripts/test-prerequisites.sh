#!/usr/bin/env bash
# Runs before `npm test`. The suite runs real programs: openssl, diff (kubectl diff runs it) and
# setpriv (the control plane's parent-death signal) from Debian, installed here as root when missing;
# and the chart's nats-server, the `nats` CLI, helm, etcd, kube-apiserver & co., kubectl 1.36 and KWOK,
# which `npm run tools` builds from test/tools/*/go.mod (pinned versions) with Go and the Go module
# proxy. A cold build takes about half an hour on 2 cores; later runs find the binaries in the
# cache (~/.cache/k3s-nats-tls/tools) and only link them.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${NATS_SERVER_BIN:-}" ] && [ ! -x "$NATS_SERVER_BIN" ]; then
  echo "✖ NATS_SERVER_BIN=$NATS_SERVER_BIN is not an executable: fix the path or unset it" >&2
  exit 1
fi

missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v diff >/dev/null || missing+=(diffutils)
command -v setpriv >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "Installing ${missing[*]} from Debian (needed by the tests)…"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "✖ The tests need ${missing[*]}: install with 'sudo apt-get install ${missing[*]}'" >&2
    exit 1
  fi
fi

npm run -s tools
