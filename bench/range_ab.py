"""Random 256 KiB Ranges against two or more checkouts, rounds alternated: an A/B of the hot path.

    python bench/range_ab.py /tmp/before .          # ROUNDS=4 by default, 6 s each

Each checkout's server runs as in run.py (`python app.py`, local storage, LOG_LEVEL=warning) with
its own copy of one 64 MiB WAV; wrk (64 connections) takes turns between them, so a machine that
gets busier or quieter affects both alike. Prints requests per second and the server's user and
system CPU per request (from /proc), per round and in total. No nginx: compare checkouts, not Lite
with nginx (run.py does that).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import loads
import servers
import testfiles
from procstats import cpu_split

BLOCK, CONNECTIONS, SECONDS = 256 * 1024, 64, 6


def main(repos: list[Path], rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="range-ab-"))
    media = testfiles.make_wav(tmp / "media.wav", 64 * 1024 * 1024)
    size = media.stat().st_size
    started: list[servers.LiteServer] = []
    targets: list[tuple[servers.LiteServer, str, str]] = []  # server, /raw path, key
    try:
        for n, repo in enumerate(repos):
            server = servers.LiteServer(repo=repo, data_dir=tmp / f"data{n}", log_path=tmp / f"lite{n}.log")
            started.append(server.start())
            _, key = server.new_user_key(f"ab{n}@bench.example")
            _, answer = server.upload(key, media, f"ab-{n}")
            path = f"/recordings/{answer['id']}/media/{answer['media_files'][0]['id']}/raw"
            loads.wrk(server.url, path, size, BLOCK, CONNECTIONS, 3, header=("X-API-Key", key))  # warm-up
            targets.append((server, path, key))
        totals = [[0, 0.0, 0.0, 0.0] for _ in repos]  # requests, seconds, user, system
        for round_ in range(rounds):
            for n, (server, path, key) in enumerate(targets):
                user0, sys0 = cpu_split(server.pid)
                header = ("X-API-Key", key)
                result = loads.wrk(server.url, path, size, BLOCK, CONNECTIONS, SECONDS, header=header)
                user1, sys1 = cpu_split(server.pid)
                total = totals[n]
                total[0] += result.requests
                total[1] += result.duration_us / 1e6
                total[2] += user1 - user0
                total[3] += sys1 - sys0
                per = 1e6 / max(result.requests, 1)
                print(
                    f"  {repos[n]} round {round_}: {result.rps:,.0f} req/s, "
                    f"user {(user1 - user0) * per:.0f} µs, system {(sys1 - sys0) * per:.0f} µs per request",
                    flush=True,
                )
        for repo, (requests, seconds, user, system) in zip(repos, totals, strict=True):
            per = 1e6 / max(requests, 1)
            print(
                f"{repo}: {requests / seconds:,.0f} req/s, user {user * per:.0f} µs + system "
                f"{system * per:.0f} µs = {(user + system) * per:.0f} µs per request"
            )
    finally:
        for server in started:
            server.stop()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main([Path(arg).resolve() for arg in sys.argv[1:]], int(os.environ.get("ROUNDS", "4")))
