#!/usr/bin/env bash
# Builds the image and checks it the way people run it, with docker or podman (whichever works):
#   1. a wrong setting stops the container with one line naming the variable (exit 2);
#   2. local backend on a named volume: healthy, HEALTHCHECK in the image and passing, server not root,
#      admin API -> user -> API key, upload a WAV, play it back with a Range request (206, exact bytes),
#      the create-user command; SIGTERM stops it promptly with exit 0; a new container on the same
#      volume still has the recording and the key;
#   3. a bind mount owned by root works (the entrypoint hands it to the server's user);
#   4. STORAGE_BACKEND=minio against an S3 endpoint (moto's server on this host): upload, Range, and the
#      presigned download link.
# Exits non-zero with a clear message on the first failure; removes its containers, volumes, image and
# processes on exit. Names and ports are unique, so runs cannot collide.
#
#   scripts/container-smoke.sh
#   BASE_IMAGE=localhost/python-slim:local scripts/container-smoke.sh   # base image to build from
#   CONTAINER_ENGINE=podman KEEP_IMAGE=1 scripts/container-smoke.sh
set -Eeuo pipefail
trap 'echo "container smoke test FAILED: unexpected error (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
START_SECONDS=$SECONDS

say() { printf '[smoke %3ds] %s\n' "$((SECONDS - START_SECONDS))" "$*"; }

CURRENT=""  # the container whose logs explain a failure
fail() {
    echo "container smoke test FAILED: $*" >&2
    if [ -n "$CURRENT" ]; then
        echo "--- last log lines of $CURRENT ---" >&2
        "$ENGINE" logs --tail 40 "$CURRENT" >&2 2>&1 || true
    fi
    exit 1
}

# --- engine -----------------------------------------------------------------------------------
ENGINE="${CONTAINER_ENGINE:-}"
if [ -z "$ENGINE" ]; then
    # The docker client may be installed without an engine behind it: ask the engine, not the client.
    for candidate in docker podman; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" info >/dev/null 2>&1; then
            ENGINE="$candidate"
            break
        fi
    done
fi
[ -n "$ENGINE" ] || fail "no working container engine (docker or podman)"
command -v curl >/dev/null || fail "curl is needed on the host"
"$PYTHON" -c "import wave" || fail "$PYTHON is needed on the host"

SUFFIX="$(date +%s)-$$-$RANDOM"
IMAGE="localhost/lite-smoke:$SUFFIX"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lite-smoke.XXXXXX")"
CONTAINERS=()
VOLUMES=()
MOTO_PID=""

cleanup() {
    local status=$?
    set +e
    for c in "${CONTAINERS[@]}"; do "$ENGINE" rm -f -v "$c" >/dev/null 2>&1; done
    for v in "${VOLUMES[@]}"; do "$ENGINE" volume rm -f "$v" >/dev/null 2>&1; done
    if [ -n "$MOTO_PID" ]; then kill "$MOTO_PID" 2>/dev/null; wait "$MOTO_PID" 2>/dev/null; fi
    if [ "${KEEP_IMAGE:-0}" != 1 ]; then "$ENGINE" rmi -f "$IMAGE" >/dev/null 2>&1; fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'echo "container smoke test FAILED: interrupted" >&2; exit 130' INT TERM

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# json FILE EXPR: prints EXPR evaluated with d = the JSON document in FILE.
json() {
    "$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# slice FILE OFFSET LENGTH: prints those bytes of FILE.
slice() {
    "$PYTHON" -c 'import sys; f = open(sys.argv[1], "rb"); f.seek(int(sys.argv[2])); sys.stdout.buffer.write(f.read(int(sys.argv[3])))' "$@"
}

# http METHOD URL OUTFILE [curl args...]: prints the status code; the body goes to OUTFILE.
http() {
    local method=$1 url=$2 out=$3
    shift 3
    # curl prints 000 itself when it gets no answer.
    curl -sS --max-time 60 -X "$method" -o "$out" -w '%{http_code}' "$@" "$url" 2>>"$WORK/curl.log" || true
}

expect_status() {  # expect_status WANT GOT WHAT BODYFILE
    if [ "$2" != "$1" ]; then
        fail "$3: expected HTTP $1, got $2: $(head -c 400 "$4" 2>/dev/null)"
    fi
}

# run_lite NAME PORT [engine run args...]: starts the image in the background on the host network.
run_lite() {
    local name=$1 port=$2
    shift 2
    CONTAINERS+=("$name")
    CURRENT="$name"
    # (podman logs harmless systemd-timer errors for HEALTHCHECK here: kept out of the output.)
    "$ENGINE" run -d --name "$name" --network=host -e PORT="$port" -e ADMIN_API_TOKEN="$ADMIN_API_TOKEN" \
        -e LOCAL_STORAGE_FSYNC=true "$@" "$IMAGE" >"$WORK/run.log" 2>&1 \
        || fail "could not start $name: $(cat "$WORK/run.log")"
}

wait_healthy() {  # wait_healthy NAME PORT
    local name=$1 port=$2 deadline=$((SECONDS + 90))
    while :; do
        if [ "$("$ENGINE" inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != true ]; then
            fail "$name exited before it was healthy (exit code $("$ENGINE" inspect -f '{{.State.ExitCode}}' "$name" 2>/dev/null))"
        fi
        if [ "$(http GET "http://127.0.0.1:$port/healthz" /dev/null)" = 200 ] \
            && [ "$(http GET "http://127.0.0.1:$port/readyz" /dev/null)" = 200 ]; then
            return 0
        fi
        [ "$SECONDS" -lt "$deadline" ] || fail "$name not healthy and ready on port $port within 90 s"
        sleep 0.5
    done
}

# --- build ------------------------------------------------------------------------------------
BUILD_ARGS=(-t "$IMAGE")
if [ -n "${BASE_IMAGE:-}" ]; then BUILD_ARGS+=(--build-arg "BASE_IMAGE=$BASE_IMAGE"); fi
if [ "$ENGINE" = podman ]; then BUILD_ARGS+=(--format docker); fi  # OCI images drop HEALTHCHECK
say "building $IMAGE with $ENGINE${BASE_IMAGE:+ from $BASE_IMAGE}"
if ! "$ENGINE" build "${BUILD_ARGS[@]}" "$ROOT" >"$WORK/build.log" 2>&1; then
    tail -n 40 "$WORK/build.log" >&2
    fail "image build failed (last lines above)"
fi
say "built: $("$ENGINE" image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')"

"$ENGINE" image inspect "$IMAGE" >"$WORK/image.json"
"$PYTHON" - "$WORK/image.json" <<'PY' || fail "image metadata: HEALTHCHECK, EXPOSE 8056, VOLUME /data or ENTRYPOINT missing"
import json, sys
image = json.load(open(sys.argv[1]))[0]
config = image.get("Config") or {}
health = config.get("Healthcheck") or image.get("Healthcheck") or {}
assert "/healthz" in " ".join(health.get("Test") or []), health
assert "8056/tcp" in (config.get("ExposedPorts") or {}), config.get("ExposedPorts")
assert "/data" in (config.get("Volumes") or {}), config.get("Volumes")
assert config.get("Entrypoint") == ["/entrypoint.sh"], config.get("Entrypoint")
PY
say "image has HEALTHCHECK on /healthz, EXPOSE 8056, VOLUME /data, ENTRYPOINT /entrypoint.sh"

ADMIN_API_TOKEN="${ADMIN_API_TOKEN:-$("$PYTHON" -c 'import secrets; print(secrets.token_hex(24))')}"
export ADMIN_API_TOKEN

# --- 1. a wrong setting: one clear line, exit 2 -------------------------------------------------
bad_status=0
"$ENGINE" run --rm --network=host -e STORAGE_BACKEND=floppy "$IMAGE" >"$WORK/bad.out" 2>"$WORK/bad.err" || bad_status=$?
[ "$bad_status" = 2 ] || fail "STORAGE_BACKEND=floppy: expected exit 2, got $bad_status: $(cat "$WORK/bad.err")"
grep -v '^time=".*level=' "$WORK/bad.err" >"$WORK/bad.lines" || true  # podman's own log lines
if [ "$(wc -l <"$WORK/bad.lines")" != 1 ] || ! grep -q STORAGE_BACKEND "$WORK/bad.lines"; then
    fail "STORAGE_BACKEND=floppy: expected one line naming STORAGE_BACKEND, got: $(cat "$WORK/bad.lines")"
fi
say "bad STORAGE_BACKEND -> exit 2: $(cat "$WORK/bad.lines")"

# --- 2. local backend on a named volume --------------------------------------------------------
"$PYTHON" - "$WORK/tone.wav" <<'PY'
import math, struct, sys, wave
with wave.open(sys.argv[1], "wb") as w:  # 1.5 s of a 440 Hz tone, 16-bit mono, 16 kHz
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(16000)
    samples = (int(8000 * math.sin(2 * math.pi * 440 * i / 16000)) for i in range(24000))
    w.writeframes(b"".join(struct.pack("<h", s) for s in samples))
PY
WAV_SIZE=$(wc -c <"$WORK/tone.wav")

VOLUME="lite-smoke-data-$SUFFIX"
VOLUMES+=("$VOLUME")
"$ENGINE" volume create "$VOLUME" >/dev/null
PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
C1="lite-smoke-local-$SUFFIX"
say "starting $C1 (local backend, volume $VOLUME at /data, port $PORT)"
run_lite "$C1" "$PORT" -v "$VOLUME:/data"
wait_healthy "$C1" "$PORT"
say "healthy: /healthz and /readyz answer 200"

if [ "$ENGINE" = podman ]; then
    # podman runs HEALTHCHECKs from systemd timers, absent here: run the image's check by hand.
    podman healthcheck run "$C1" >/dev/null 2>&1 || fail "the image's HEALTHCHECK fails on a healthy server"
else
    deadline=$((SECONDS + 60))
    until [ "$(docker inspect -f '{{.State.Health.Status}}' "$C1")" = healthy ]; do
        [ "$SECONDS" -lt "$deadline" ] || fail "docker never reported $C1 healthy"
        sleep 1
    done
fi
say "the image's HEALTHCHECK passes"

uid_line="$("$ENGINE" exec "$C1" grep '^Uid:' /proc/1/status)"
read -r _ ruid euid _ <<<"$uid_line"
if [ "$ruid" = 0 ] || [ "$euid" = 0 ]; then fail "the server (PID 1) runs as root: $uid_line"; fi
pid1="$("$ENGINE" exec "$C1" cat /proc/1/cmdline | tr '\0' ' ')"
case "$pid1" in *python*app.py*) ;; *) fail "PID 1 is not the server itself (exec missing?): $pid1" ;; esac
say "PID 1 is the server ($pid1) as uid $ruid"

status=$(http POST "$BASE/admin/users" "$WORK/user.json" -H "X-Admin-API-Key: $ADMIN_API_TOKEN" \
    -H 'Content-Type: application/json' -d '{"email": "smoke@example.com", "name": "Smoke Test"}')
expect_status 201 "$status" "POST /admin/users" "$WORK/user.json"
USER_ID="$(json "$WORK/user.json" 'd["id"]')"
status=$(http POST "$BASE/admin/users/$USER_ID/tokens" "$WORK/token.json" -H "X-Admin-API-Key: $ADMIN_API_TOKEN")
expect_status 201 "$status" "POST /admin/users/$USER_ID/tokens" "$WORK/token.json"
API_KEY="$(json "$WORK/token.json" 'd["token"]')"
status=$(http POST "$BASE/admin/users" "$WORK/denied.json" -H 'X-Admin-API-Key: wrong' \
    -H 'Content-Type: application/json' -d '{"email": "x@example.com", "name": "X"}')
expect_status 401 "$status" "POST /admin/users with a wrong admin token" "$WORK/denied.json"
say "admin API: user $USER_ID and an API key created (wrong admin token -> 401)"

# check_playback BASE KEY PREFIX: uploads tone.wav, checks the recording, Range and HEAD; sets REC_ID, MEDIA_ID.
check_playback() {
    local base=$1 key=$2 what=$3 status
    # (the fields before the file: the server streams the file part straight to storage)
    status=$(http POST "$base/recordings" "$WORK/upload.json" -H "X-API-Key: $key" \
        -F "session_uid=smoke-$what" -F "meeting_id=smoke-meeting" -F "file=@$WORK/tone.wav;type=audio/wav")
    expect_status 201 "$status" "$what: POST /recordings" "$WORK/upload.json"
    REC_ID="$(json "$WORK/upload.json" 'd["id"]')"
    MEDIA_ID="$(json "$WORK/upload.json" 'd["media_files"][0]["id"]')"
    [ "$(json "$WORK/upload.json" 'd["media_files"][0]["file_size_bytes"]')" = "$WAV_SIZE" ] \
        || fail "$what: file_size_bytes is not $WAV_SIZE: $(cat "$WORK/upload.json")"

    status=$(http GET "$base/recordings/$REC_ID" "$WORK/rec.json" -H "X-API-Key: $key")
    expect_status 200 "$status" "$what: GET /recordings/$REC_ID" "$WORK/rec.json"

    local raw="$base/recordings/$REC_ID/media/$MEDIA_ID/raw"
    status=$(http GET "$raw" "$WORK/range.bin" -H "X-API-Key: $key" -H 'Range: bytes=100-1099' -D "$WORK/range.headers")
    expect_status 206 "$status" "$what: GET raw with Range: bytes=100-1099" "$WORK/range.bin"
    slice "$WORK/tone.wav" 100 1000 >"$WORK/expected.bin"
    cmp -s "$WORK/range.bin" "$WORK/expected.bin" || fail "$what: the 206 body is not bytes 100-1099 of the upload"
    grep -qi "^content-range: bytes 100-1099/$WAV_SIZE" "$WORK/range.headers" \
        || fail "$what: Content-Range is not 'bytes 100-1099/$WAV_SIZE': $(grep -i content-range "$WORK/range.headers")"

    status=$(http GET "$raw" "$WORK/tail.bin" -H "X-API-Key: $key" -H 'Range: bytes=-44')
    expect_status 206 "$status" "$what: GET raw with Range: bytes=-44" "$WORK/tail.bin"
    slice "$WORK/tone.wav" $((WAV_SIZE - 44)) 44 >"$WORK/expected.bin"
    cmp -s "$WORK/tail.bin" "$WORK/expected.bin" || fail "$what: bytes=-44 is not the last 44 bytes"

    status=$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -I -H "X-API-Key: $key" "$raw")
    [ "$status" = 200 ] || fail "$what: HEAD raw: expected 200, got $status"

    status=$(http GET "$raw" "$WORK/none.json" -H "X-API-Key: not-a-key")
    expect_status 401 "$status" "$what: GET raw with a wrong API key" "$WORK/none.json"
}

check_playback "$BASE" "$API_KEY" local
say "upload -> recording $REC_ID media $MEDIA_ID ($WAV_SIZE bytes); Range 100-1099 and -44 -> 206 with exact bytes; HEAD 200"

"$ENGINE" exec --user lite "$C1" python -m lite create-user cli@example.com --name 'CLI User' >"$WORK/cli.out" 2>"$WORK/cli.err" \
    || fail "python -m lite create-user failed: $(cat "$WORK/cli.err")"
CLI_KEY="$(grep -Eo '[A-Za-z0-9_-]{20,}' "$WORK/cli.out" | tail -n 1 || true)"
[ -n "$CLI_KEY" ] || fail "create-user printed no API key: $(cat "$WORK/cli.out")"
status=$(http GET "$BASE/recordings" "$WORK/cli-list.json" -H "X-API-Key: $CLI_KEY")
expect_status 200 "$status" "GET /recordings with the key from create-user" "$WORK/cli-list.json"
say "python -m lite create-user prints a working API key"

# SIGTERM: stop must be prompt and clean (exit 0), well within the engine's 30 s grace.
t0=$SECONDS
"$ENGINE" stop -t 30 "$C1" >/dev/null 2>&1 || fail "$ENGINE stop $C1 failed"
stop_seconds=$((SECONDS - t0))
exit_code="$("$ENGINE" inspect -f '{{.State.ExitCode}}' "$C1")"
[ "$exit_code" = 0 ] || fail "after SIGTERM the server exited with $exit_code, not 0"
[ "$stop_seconds" -le 10 ] || fail "SIGTERM stop took ${stop_seconds}s (> 10 s): is the server PID 1 and handling SIGTERM?"
say "SIGTERM: stopped in ${stop_seconds}s with exit code 0"

C2="lite-smoke-local2-$SUFFIX"
say "starting $C2: a new container on the same volume"
run_lite "$C2" "$PORT" -v "$VOLUME:/data"
wait_healthy "$C2" "$PORT"
status=$(http GET "$BASE/recordings/$REC_ID" "$WORK/rec2.json" -H "X-API-Key: $API_KEY")
expect_status 200 "$status" "after restart: GET /recordings/$REC_ID" "$WORK/rec2.json"
status=$(http GET "$BASE/recordings/$REC_ID/media/$MEDIA_ID/raw" "$WORK/full.bin" -H "X-API-Key: $API_KEY")
expect_status 200 "$status" "after restart: GET raw" "$WORK/full.bin"
cmp -s "$WORK/full.bin" "$WORK/tone.wav" || fail "after restart the recording's bytes differ from the upload"
status=$(http GET "$BASE/recordings" "$WORK/list.json" -H "X-API-Key: $API_KEY")
expect_status 200 "$status" "after restart: GET /recordings" "$WORK/list.json"
[ "$(json "$WORK/list.json" 'd["total"]')" = 1 ] || fail "after restart the list is not one recording: $(cat "$WORK/list.json")"
say "after restart: recording, bytes and API key all still there"

# SIGTERM during an upload: the server stops accepting but lets the upload finish (201), then exits 0.
curl -sS --max-time 60 --limit-rate 12k -o "$WORK/slow.json" -w '%{http_code}' -H "X-API-Key: $API_KEY" \
    -F "session_uid=smoke-slow" -F "file=@$WORK/tone.wav;type=audio/wav" "$BASE/recordings" \
    >"$WORK/slow.status" 2>>"$WORK/curl.log" &
SLOW_PID=$!
sleep 1.5
t0=$SECONDS
"$ENGINE" stop -t 30 "$C2" >/dev/null 2>&1 || fail "$ENGINE stop $C2 failed"
wait "$SLOW_PID" || true
[ "$(cat "$WORK/slow.status")" = 201 ] \
    || fail "an upload in flight at SIGTERM did not complete: HTTP $(cat "$WORK/slow.status") $(head -c 300 "$WORK/slow.json" 2>/dev/null)"
[ "$("$ENGINE" inspect -f '{{.State.ExitCode}}' "$C2")" = 0 ] || fail "after SIGTERM during an upload the exit code is not 0"
say "SIGTERM during a slow upload: the upload completed (201), then exit 0 after $((SECONDS - t0))s"

# --- 3. a root-owned bind mount -----------------------------------------------------------------
BIND="$WORK/bind-data"
mkdir -p "$BIND"
chmod 0755 "$BIND"
C3="lite-smoke-bind-$SUFFIX"
say "starting $C3 with a root-owned bind mount at /data"
run_lite "$C3" "$PORT" -v "$BIND:/data"
wait_healthy "$C3" "$PORT"
status=$(http POST "$BASE/admin/users" "$WORK/user3.json" -H "X-Admin-API-Key: $ADMIN_API_TOKEN" \
    -H 'Content-Type: application/json' -d '{"email": "bind@example.com", "name": "Bind"}')
expect_status 201 "$status" "bind mount: POST /admin/users" "$WORK/user3.json"
status=$(http POST "$BASE/admin/users/$(json "$WORK/user3.json" 'd["id"]')/tokens" "$WORK/token3.json" \
    -H "X-Admin-API-Key: $ADMIN_API_TOKEN")
expect_status 201 "$status" "bind mount: POST tokens" "$WORK/token3.json"
status=$(http POST "$BASE/recordings" "$WORK/upload3.json" -H "X-API-Key: $(json "$WORK/token3.json" 'd["token"]')" \
    -F "file=@$WORK/tone.wav;type=audio/wav")
expect_status 201 "$status" "bind mount: POST /recordings" "$WORK/upload3.json"
[ -f "$BIND/lite.db" ] || fail "bind mount: no lite.db in the host directory"
found="$(find "$BIND/recordings" -type f -name '*.wav' | head -n 1)"
[ -n "$found" ] || fail "bind mount: the upload is not under the host directory's recordings/"
cmp -s "$found" "$WORK/tone.wav" || fail "bind mount: the stored file differs from the upload"
"$ENGINE" stop -t 30 "$C3" >/dev/null 2>&1
say "root-owned bind mount: chowned to uid $(stat -c %u "$BIND"), index and recording written (${found#"$BIND"/})"

# --- 4. minio backend against an S3 endpoint (moto) ---------------------------------------------
if ! "$PYTHON" -c 'import moto.server' 2>/dev/null; then
    say "installing moto[server] on the host for the S3 endpoint"
    "$PYTHON" -m pip install -q 'moto[server]>=5' >"$WORK/pip.log" 2>&1 || fail "pip install 'moto[server]' failed: $(tail -n 5 "$WORK/pip.log")"
fi
MOTO_PORT="$(free_port)"
"$PYTHON" -m moto.server -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
deadline=$((SECONDS + 30))
until [ "$(http GET "http://127.0.0.1:$MOTO_PORT/" /dev/null)" = 200 ]; do
    kill -0 "$MOTO_PID" 2>/dev/null || fail "moto server exited: $(tail -n 5 "$WORK/moto.log")"
    [ "$SECONDS" -lt "$deadline" ] || fail "moto server not answering on port $MOTO_PORT"
    sleep 0.3
done
say "moto S3 endpoint on 127.0.0.1:$MOTO_PORT"

BUCKET="lite-smoke-$RANDOM"
MINIO_VOLUME="lite-smoke-index-$SUFFIX"
VOLUMES+=("$MINIO_VOLUME")
"$ENGINE" volume create "$MINIO_VOLUME" >/dev/null
C4="lite-smoke-minio-$SUFFIX"
say "starting $C4 (STORAGE_BACKEND=minio, bucket $BUCKET)"
run_lite "$C4" "$PORT" -v "$MINIO_VOLUME:/data" -e STORAGE_BACKEND=minio \
    -e MINIO_ENDPOINT="127.0.0.1:$MOTO_PORT" -e MINIO_PUBLIC_ENDPOINT="localhost:$MOTO_PORT" \
    -e MINIO_ACCESS_KEY=smoke-access -e MINIO_SECRET_KEY=smoke-secret-key -e MINIO_BUCKET="$BUCKET"
wait_healthy "$C4" "$PORT"
status=$(http POST "$BASE/admin/users" "$WORK/user4.json" -H "X-Admin-API-Key: $ADMIN_API_TOKEN" \
    -H 'Content-Type: application/json' -d '{"email": "minio@example.com", "name": "MinIO"}')
expect_status 201 "$status" "minio: POST /admin/users" "$WORK/user4.json"
status=$(http POST "$BASE/admin/users/$(json "$WORK/user4.json" 'd["id"]')/tokens" "$WORK/token4.json" \
    -H "X-Admin-API-Key: $ADMIN_API_TOKEN")
expect_status 201 "$status" "minio: POST tokens" "$WORK/token4.json"
MINIO_KEY="$(json "$WORK/token4.json" 'd["token"]')"
check_playback "$BASE" "$MINIO_KEY" minio

status=$(http GET "http://127.0.0.1:$MOTO_PORT/$BUCKET?list-type=2" "$WORK/bucket.xml")
expect_status 200 "$status" "listing the bucket on the S3 endpoint" "$WORK/bucket.xml"
grep -q "recordings/[0-9]*/$REC_ID/smoke-minio.wav" "$WORK/bucket.xml" \
    || fail "minio: the object is not in bucket $BUCKET under recordings/<user>/$REC_ID/: $(head -c 600 "$WORK/bucket.xml")"

status=$(http GET "$BASE/recordings/$REC_ID/media/$MEDIA_ID/download" "$WORK/download.json" -H "X-API-Key: $MINIO_KEY")
expect_status 200 "$status" "minio: GET download" "$WORK/download.json"
URL="$(json "$WORK/download.json" 'd["url"]')"
case "$URL" in "http://localhost:$MOTO_PORT/"*) ;; *) fail "minio: the presigned URL is not for MINIO_PUBLIC_ENDPOINT: $URL" ;; esac
status=$(http GET "$URL" "$WORK/presigned.bin")
expect_status 200 "$status" "minio: GET the presigned URL" "$WORK/presigned.bin"
cmp -s "$WORK/presigned.bin" "$WORK/tone.wav" || fail "minio: the presigned download differs from the upload"
t0=$SECONDS
"$ENGINE" stop -t 30 "$C4" >/dev/null 2>&1
[ "$("$ENGINE" inspect -f '{{.State.ExitCode}}' "$C4")" = 0 ] || fail "minio: SIGTERM exit code is not 0"
say "minio: object in the bucket, Range 206 exact, presigned link for localhost works; stopped in $((SECONDS - t0))s"

CURRENT=""
say "container smoke test passed ($ENGINE, $((SECONDS - START_SECONDS)) s)"
