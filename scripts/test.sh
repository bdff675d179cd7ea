#!/usr/bin/env bash
# Run the tests: installs what they need (Python packages into .venv; Debian's chromium and ffmpeg
# when missing), lints, then runs pytest. Extra arguments go to pytest.
source "$(dirname "$0")/_env.sh" "test"
missing=()
command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v ffprobe >/dev/null || missing+=(ffmpeg)
command -v npm >/dev/null || missing+=(nodejs npm)  # the second S3 server of the tests (s3rver)
if [ ${#missing[@]} -gt 0 ]; then
  echo "lite: installing Debian packages for the tests: ${missing[*]}" >&2
  apt_install "${missing[@]}"
fi
bash scripts/install-s3rver.sh
# axe-core for the page's accessibility test, from its lockfile (never a CDN)
if [ ! -d tests/player/axe/node_modules/axe-core ]; then
  (cd tests/player/axe && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
