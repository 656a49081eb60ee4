#!/usr/bin/env bash
# Installs what the benchmark harness needs beyond the engines
# (scripts/install-deps.sh) and Go, idempotently:
#   - the Prism CLI (@stoplight/prism-cli, npm), the mock server of the
#     "API against a mock" figure, into bench/.cache/prism (not committed).
# The load generator and the bare baseline server are Go programs of this
# repository (bench/cmd/load, bench/cmd/bare); the harness builds them.
set -euo pipefail
cd "$(dirname "$0")"

PRISM_VERSION="${PRISM_VERSION:-5.14.2}"
prefix=.cache/prism

if [ -x "$prefix/node_modules/.bin/prism" ] &&
   [ "$("$prefix/node_modules/.bin/prism" --version 2>/dev/null)" = "$PRISM_VERSION" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "bench/install.sh: installing Node.js and npm (Debian packages)" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
mkdir -p "$prefix"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "@stoplight/prism-cli@$PRISM_VERSION" >&2
"$prefix/node_modules/.bin/prism" --version >/dev/null
