"""Full `/raw` downloads in minio mode from two or more checkouts, alternated one by one: an A/B of
the object-storage relay.

    python bench/minio_ab.py /tmp/before .          # ROUNDS=9 by default, 256 MiB (MIB=256)

One moto and one bucket for all: the first checkout's server takes the upload, the others start
after it and rebuild their index from the bucket (stateless mode), so every server relays the same
object. Each round downloads it once through every server (curl) and once straight from moto with
boto3, so a machine that gets busier or quieter affects all alike. Prints MiB/s per download, the
medians and their ratio to boto3's, and each server's CPU seconds per GiB relayed (from /proc).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

import loads
import servers
import testfiles
from procstats import cpu_seconds

BUCKET = "bench-ab"
MiB = 1024 * 1024


def main(repos: list[Path], rounds: int, size: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="minio-ab-"))
    moto = servers.Moto(tmp / "moto.log").start()
    started: list[servers.LiteServer] = []
    try:
        env = {
            "STORAGE_BACKEND": "minio",
            "MINIO_ENDPOINT": f"127.0.0.1:{moto.port}",
            "MINIO_ACCESS_KEY": "testing",
            "MINIO_SECRET_KEY": "testing",
            "MINIO_BUCKET": BUCKET,
        }
        for n, repo in enumerate(repos):
            server = servers.LiteServer(
                repo=repo, data_dir=tmp / f"data{n}", log_path=tmp / f"lite{n}.log", extra_env=env
            )
            started.append(server.start())
            if n == 0:  # users, keys and recordings live in the bucket: the others see them
                user_id, key = server.new_user_key("ab@bench.example")
                _, answer = server.upload(key, testfiles.make_wav(tmp / "ab.wav", size), "ab")
        path = f"/recordings/{answer['id']}/media/{answer['media_files'][0]['id']}/raw"
        object_key = f"recordings/{user_id}/{answer['id']}/ab.wav"
        runs: list[list[float]] = [[] for _ in repos]
        cpu = [0.0 for _ in repos]
        direct: list[float] = []
        for _ in range(rounds):
            for n, server in enumerate(started):
                before = cpu_seconds(server.pid)
                transfer = loads.curl_download(f"{server.url}{path}", {"X-API-Key": key})
                cpu[n] += cpu_seconds(server.pid) - before
                if transfer.status != 200 or transfer.bytes != size:
                    raise RuntimeError(f"{repos[n]}: HTTP {transfer.status}, {transfer.bytes} bytes")
                runs[n].append(transfer.mib_s)
            direct.append(loads.boto3_download(moto.url, BUCKET, object_key).mib_s)
        boto3 = statistics.median(direct)
        gib = rounds * size / (1024 * MiB)
        for repo, mib_s, seconds in zip(repos, runs, cpu, strict=True):
            median = statistics.median(mib_s)
            print(
                f"{repo}: {[round(x) for x in mib_s]} median {median:,.0f} MiB/s, "
                f"{median / boto3:.3f}x boto3, {seconds / gib:.2f} s CPU per GiB"
            )
        print(f"boto3 direct: {[round(x) for x in direct]} median {boto3:,.0f} MiB/s")
    finally:
        for server in started:
            server.stop()
        moto.stop()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    size = int(os.environ.get("MIB", "256")) * MiB
    main([Path(p).resolve() for p in sys.argv[1:]], int(os.environ.get("ROUNDS", "9")), size)
