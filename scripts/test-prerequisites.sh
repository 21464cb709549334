#!/usr/bin/env bash
# Runs before `npm test`: the PKI and verify tests use a real nats-server and openssl, and the dist/
# tests build the kustomization with a real `kubectl kustomize` (offline), none of which npm can
# install. On Debian as root they are installed; elsewhere the message says how. Debian ships
# kubectl in the package kubernetes-client.
set -euo pipefail

if [ -n "${NATS_SERVER_BIN:-}" ] && [ ! -x "$NATS_SERVER_BIN" ]; then
  echo "✖ NATS_SERVER_BIN=$NATS_SERVER_BIN is not an executable: fix the path or unset it" >&2
  exit 1
fi

missing=()
[ -x "${NATS_SERVER_BIN:-/usr/sbin/nats-server}" ] || missing+=(nats-server)
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
