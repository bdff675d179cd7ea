# Sourced by serve.sh and test.sh: a project virtualenv in .venv with the dependencies installed.
# Re-installs only when pyproject.toml changes, so the second run starts at once.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
EXTRAS="${1:-}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

apt_install() {  # apt_install PACKAGE... : Debian packages this project needs, when they are missing
  command -v apt-get >/dev/null || { echo "lite: please install: $*" >&2; return 1; }
  if [ ! -f /tmp/.lite-apt-updated ]; then as_root apt-get update -qq && touch /tmp/.lite-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    apt_install python3-venv
    "$PYTHON" -m venv .venv
  fi
fi
stamp=".venv/.lite-installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-${EXTRAS:-base}"
if [ ! -f "$stamp" ]; then
  echo "lite: installing Python dependencies into .venv (first run only)" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${EXTRAS:+[$EXTRAS]}"
  rm -f .venv/.lite-installed-*
  touch "$stamp"
fi
