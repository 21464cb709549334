#!/usr/bin/env bash
# Runs before `npm test`. The PKI, verify and cluster tests run the chart's nats-server (v2.14.2) and
# the `nats` CLI, which `npm run tools` builds from test/tools/*/go.mod into test/tools/.bin/ (a cold
# build takes minutes, so this script only checks and says so). They also use openssl, and the dist/
# tests build the kustomization with a real `kubectl kustomize` (offline), neither of which npm can
# install: on Debian as root they are installed; elsewhere the message says how. Debian ships
# kubectl in the package kubernetes-client.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${NATS_SERVER_BIN:-}" ] && [ ! -x "$NATS_SERVER_BIN" ]; then
  echo "✖ NATS_SERVER_BIN=$NATS_SERVER_BIN is not an executable: fix the path or unset it" >&2
  exit 1
fi

# program:module — what test/tools/.bin/ must hold, and the module `npm run tools` builds it from.
unbuilt=()
for tool in nats-server:nats-server nats:natscli; do
  program=${tool%%:*} module=${tool#*:}
  [ "$program" = nats-server ] && [ -n "${NATS_SERVER_BIN:-}" ] && continue
  [ -x "test/tools/.bin/$program" ] || unbuilt+=("$module")
done
if [ ${#unbuilt[@]} -gt 0 ]; then
  echo "✖ The tests need test/tools/.bin/ programs not built yet: run 'npm run tools -- ${unbuilt[*]}' (needs Go and the Go module proxy)" >&2
  exit 1
fi

missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v kubectl >/dev/null || missing+=(kubernetes-client)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing ${missing[*]} from Debian (needed by the tests)…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "✖ The tests need ${missing[*]}: install with 'sudo apt-get install ${missing[*]}'" >&2
  exit 1
fi
