#!/bin/sh
# Container entry point: prepare /data, check the configuration, then become the server.
#
#   docker run lite                                  -> serves (python app.py)
#   docker run lite python -m lite create-user EMAIL -> runs that command instead (same user, same /data)
#
# Why start as root and drop privileges, rather than `USER lite` in the Dockerfile:
# a bind mount (`-v ./data:/data`, compose's LOCAL_STORAGE_VOLUME_SOURCE=./data/recordings, a fresh
# hostPath) arrives owned by root, and a process that is never root cannot take ownership of it; it
# would fail on its first write. So when started as root this script only does what needs root:
# create DATA_DIR and LOCAL_STORAGE_DIR and chown them to the user "lite" (recursively, and only when
# the directory's owner is not already that user, so a large volume is not walked on every start).
# Then it drops to that user with setpriv (util-linux, in every Debian image; no gosu/su-exec to
# install), with no supplementary groups and no_new_privs, and never runs anything else as root.
# Started as a non-root user instead (`docker run --user 10001`, Kubernetes runAsUser + fsGroup),
# it skips the chown and runs as that user throughout.
#
# `exec` at the end replaces this shell, so the server is PID 1 itself and receives SIGTERM from
# `docker stop` directly: it stops accepting, lets in-flight uploads finish (SHUTDOWN_TIMEOUT_SECONDS)
# and exits 0.
set -eu

cd /app
LITE_USER="${LITE_USER:-lite}"
DATA_DIR="${DATA_DIR:-/data}"
STORAGE_BACKEND="${STORAGE_BACKEND:-local}"
LOCAL_STORAGE_DIR="${LOCAL_STORAGE_DIR:-$DATA_DIR/recordings}"

if [ "$(id -u)" = 0 ]; then
    uid="$(id -u "$LITE_USER")"
    gid="$(id -g "$LITE_USER")"
    prepare() {
        # A failure here (read-only mount, bad path) is reported by check-config below, by name.
        mkdir -p "$1" 2>/dev/null || return 0
        if [ "$(stat -c %u "$1")" != "$uid" ]; then
            chown -R "$uid:$gid" "$1" 2>/dev/null || true
        fi
    }
    prepare "$DATA_DIR"
    if [ "$STORAGE_BACKEND" = local ]; then
        prepare "$LOCAL_STORAGE_DIR"
    fi
    as_user() { setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs -- "$@"; }
    export HOME=/tmp
else
    as_user() { "$@"; }
fi

if [ "$#" -eq 0 ]; then
    # Same checks as the server's start (unknown STORAGE_BACKEND, s3 without S3_BUCKET, unreachable
    # bucket, unwritable DATA_DIR/LOCAL_STORAGE_DIR...): on error it prints one line naming the
    # variable and exits 2, and so does the container.
    as_user python -m lite check-config || exit $?
    set -- python app.py
fi

if [ "$(id -u)" = 0 ]; then
    exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs -- "$@"
fi
exec "$@"
