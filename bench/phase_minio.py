"""Measurement 7: minio mode (STORAGE_BACKEND=minio against moto). Full downloads through /raw
against boto3 reading the same object straight from moto and curl on the presigned URL (and the
server's CPU per GiB relayed), and through a replica with RAW_REDIRECT_TO_STORE (curl following
its redirect to moto), then what paused players hold, random Ranges through /raw and
straight to moto; and the upload into moto itself."""

from __future__ import annotations

import socket
import time

import loads
import procstats
from context import BLOCK, RunContext
from harness import http_json, log
from loads import MiB, median
from servers import LiteServer, Moto
from testfiles import make_wav

BUCKET = "bench-recordings"
# moto (a Python mock of S3) answers a few Ranges a second under load: 8 connections, not 64.
RANGE_CONNECTIONS = 8
PAUSED_PLAYERS = 20


def run(ctx: RunContext) -> None:
    plan = ctx.plan
    size = plan.minio_file_bytes
    moto = Moto(ctx.tmp / "moto.log").start()
    store = {
        "STORAGE_BACKEND": "minio",
        "MINIO_ENDPOINT": f"127.0.0.1:{moto.port}",
        "MINIO_ACCESS_KEY": "testing",
        "MINIO_SECRET_KEY": "testing",
        "MINIO_BUCKET": BUCKET,
    }
    server = ctx.lite("minio", store).start()
    user_id, key = server.new_user_key("minio@bench.example")
    auth = {"X-API-Key": key}
    path = make_wav(ctx.tmp / "bench-minio.wav", size)
    log(f"7. minio mode: uploading {size // MiB} MiB through POST /recordings to moto")
    try:
        up, answer = server.upload(key, path, "bench-minio")
    except RuntimeError as exc:  # moto answered 500 to this upload once in eight runs
        log(f"7. the upload failed ({exc}); once more")
        up, answer = server.upload(key, path, "bench-minio")
    rid, mid = answer["id"], answer["media_files"][0]["id"]
    object_key = f"recordings/{user_id}/{rid}/bench-minio.wav"
    raw_path = f"/recordings/{rid}/media/{mid}/raw"
    status, download = http_json("GET", f"{server.url}/recordings/{rid}/media/{mid}/download", auth)
    if status != 200:
        raise RuntimeError(f"download answered {status}: {download}")
    presigned: str = download["url"]
    presigned_path = presigned.removeprefix(moto.url)

    # A second replica on the bucket, with RAW_REDIRECT_TO_STORE: its /raw sends players to the
    # store, and a player's link (raw_url, a playback token and no headers) is followed there.
    redirecting = ctx.lite("minio-redirect", {**store, "RAW_REDIRECT_TO_STORE": "true"}).start()
    status, link = http_json("GET", f"{redirecting.url}/recordings/{rid}/media/{mid}/download", auth)
    if status != 200:
        raise RuntimeError(f"the redirecting replica's download answered {status}: {link}")
    player_link = f"{redirecting.url}{link['raw_url']}"

    raw_runs, boto_runs, presigned_runs, redirect_runs = [], [], [], []
    relaying = procstats.CpuMeter(server.pid)
    with ctx.profiled("minio-download", server.pid):
        for _ in range(plan.minio_downloads):
            with relaying:
                t = loads.curl_download(f"{server.url}{raw_path}", auth)
            if t.bytes != size:
                raise RuntimeError(f"/raw returned {t.bytes} of {size} bytes (HTTP {t.status})")
            raw_runs.append(t.mib_s)
            boto_runs.append(loads.boto3_download(moto.url, BUCKET, object_key).mib_s)
            presigned_runs.append(loads.curl_download(presigned).mib_s)
            redirected = loads.curl_download(player_link, follow=True)
            if redirected.bytes != size:
                raise RuntimeError(f"the redirect led to {redirected.bytes} of {size} bytes")
            redirect_runs.append(redirected.mib_s)
    redirecting.stop()
    paused = paused_players(server, raw_path, key)
    seconds = plan.minio_range_seconds
    header = ("X-API-Key", key)
    raw_range = loads.wrk(server.url, raw_path, size, BLOCK, RANGE_CONNECTIONS, seconds, header=header)
    direct_range = loads.wrk(moto.url, presigned_path, size, BLOCK, RANGE_CONNECTIONS, seconds)
    server.stop()
    moto.stop()
    path.unlink(missing_ok=True)
    ctx.results["minio"] = {
        "bytes": size,
        "upload_mib_s": up.mib_s,
        "raw_runs": raw_runs,
        "boto3_runs": boto_runs,
        "presigned_curl_runs": presigned_runs,
        "raw": median(raw_runs),
        "boto3": median(boto_runs),
        "presigned_curl": median(presigned_runs),
        "redirect_runs": redirect_runs,
        "redirect": median(redirect_runs),
        "raw_cpu_s_per_gib": relaying.seconds / (plan.minio_downloads * size / (1024 * MiB)),
        "paused_players": paused,
        "range_raw": raw_range.as_dict(),
        "range_direct": direct_range.as_dict(),
    }


def paused_players(server: LiteServer, raw_path: str, key: str) -> dict[str, float]:
    """What players that stop reading hold in the server: each asks for the whole file from the
    start (`Range: bytes=0-`, as a browser's media element does), reads the first bytes, then reads
    no more while the connection stays open, as a paused player's buffer fills."""
    before = procstats.status_kib(server.pid, "VmRSS")
    players: list[socket.socket] = []
    try:
        for _ in range(PAUSED_PLAYERS):
            player = socket.create_connection(("127.0.0.1", server.port))
            players.append(player)
            player.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            head = f"GET {raw_path} HTTP/1.1\r\nHost: bench\r\nRange: bytes=0-\r\nX-API-Key: {key}\r\n\r\n"
            player.sendall(head.encode())
            player.recv(64 * 1024)
        time.sleep(5)  # the relays fill every buffer on the way and stop
        held = procstats.status_kib(server.pid, "VmRSS")
    finally:
        for player in players:
            player.close()
    time.sleep(2)
    after = procstats.status_kib(server.pid, "VmRSS")
    growth = (held - before) / 1024
    log(f"7. {PAUSED_PLAYERS} paused players: server RSS +{growth:.0f} MiB ({after // 1024} MiB after)")
    return {"players": PAUSED_PLAYERS, "rss_growth_mib": growth, "rss_after_mib": after / 1024}
