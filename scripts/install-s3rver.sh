#!/usr/bin/env bash
# The tests' second S3 server, s3rver (tests/s3rver), from the npm registry: installed once from
# its lockfile (again when the lockfile changes). It needs Node.js 20 or newer: where the system's
# is older (Debian 12 has 18), the Node.js 20 binary that npm ships as a package is added beside it.
set -euo pipefail
cd "$(dirname "$0")/../tests/s3rver"
stamp="node_modules/.lite-installed-$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "lite: installing s3rver for the tests (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$major" -lt 20 ]; then
    arch="$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')"
    npm install --no-save --no-audit --no-fund --loglevel=error "node-linux-$arch@20" >/dev/null
  fi
  touch "$stamp"
fi
