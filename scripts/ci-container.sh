#!/usr/bin/env bash
# What .ci/run calls for the container: finds or installs an engine, then runs container-smoke.sh,
# bounded in time (CONTAINER_SMOKE_TIMEOUT seconds, default 1200, the engine set-up included).
#
# - docker or podman already working: use it (BASE_IMAGE from the environment, if any).
# - otherwise ../shared/tools/container-engine.sh (beside the repository) installs podman and builds a
#   local slim Python base image, whose name it prints: that becomes BASE_IMAGE.
# - neither: one line saying the container smoke test is skipped, exit 0.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENGINE_TOOL="$ROOT/../shared/tools/container-engine.sh"
LIMIT="${CONTAINER_SMOKE_TIMEOUT:-1200}"
DEADLINE=$((SECONDS + LIMIT))

engine_works() {
    command -v "$1" >/dev/null 2>&1 && timeout 30 "$1" info >/dev/null 2>&1
}

ENGINE=""
for candidate in docker podman; do
    if engine_works "$candidate"; then
        ENGINE="$candidate"
        break
    fi
done

if [ -f "$ENGINE_TOOL" ] && { [ -z "$ENGINE" ] || [ "$ENGINE" = podman ]; } && [ -z "${BASE_IMAGE:-}" ]; then
    # Also when podman is already there: the tool configures it for this sandbox and provides the
    # base image (no container registry is reachable here). Idempotent and quick the second time.
    echo "container engine: running ${ENGINE_TOOL#"$ROOT"/}"
    if ! BASE_IMAGE="$(timeout "$LIMIT" bash "$ENGINE_TOOL" | tail -n 1)"; then
        echo "container smoke test FAILED: $ENGINE_TOOL did not finish (or failed) within ${LIMIT}s" >&2
        exit 1
    fi
    export BASE_IMAGE
    engine_works podman || { echo "container smoke test FAILED: podman does not work after $ENGINE_TOOL" >&2; exit 1; }
    ENGINE=podman
fi

if [ -z "$ENGINE" ]; then
    # (A docker client with no engine behind it counts as no engine.)
    echo "container smoke test skipped: no container engine and no ../shared/tools/container-engine.sh"
    exit 0
fi

left=$((DEADLINE - SECONDS))
if [ "$left" -lt 60 ]; then
    echo "container smoke test FAILED: engine set-up left only ${left}s of ${LIMIT}s" >&2
    exit 1
fi
echo "container smoke test: $ENGINE${BASE_IMAGE:+, BASE_IMAGE=$BASE_IMAGE}, at most ${left}s"
# timeout sends SIGTERM first, so the smoke script's trap still removes its containers.
CONTAINER_ENGINE="$ENGINE" timeout --kill-after=30 "$left" bash "$ROOT/scripts/container-smoke.sh" && exit 0
status=$?
if [ "$status" = 124 ]; then
    echo "container smoke test FAILED: timed out after ${left}s" >&2
fi
exit "$status"
