"""Simulated meeting bots: N bots, each POSTing one chunk to /internal/recordings/upload every
`interval` seconds (Vexa's bot contract: multipart `file` + `metadata` JSON).

Run as its own process by run.py (so its event loop competes with nobody in the orchestrator):
    python bench/bots.py --port P --key K --bots N --rounds R --pieces DIR --prefix S
Prints one JSON line: latency percentiles of the acknowledgements, errors, and how late the client
itself started requests (a client that falls behind would inflate the latencies it reports).

Bot i starts at i/N of the interval, so requests arrive evenly; each request uses a new connection
(a bot idle for 10 s has lost its keep-alive connection anyway). Latency is from connect to the
last byte of the answer.

Session mode (`--session-chunks 3-4`, issue 19): each bot is one meeting session of 3 to 4 chunks
of 16-160 KB (`--chunk-kb`), consecutive cuts of the real WebM stream (chunk 0 starts at byte 0,
so it carries the header, and the session's chunks assemble into a playable file), 10 s apart,
the last with `is_final: true`. A 503 or 429 with `Retry-After` is honoured: the bot waits that
long plus up to `--jitter` s and sends the same chunk again (a retry); anything else but a 201
(a timeout, a reset, a refused connection, another status) is an error, after which the chunk is
sent again up to twice (then the session is abandoned). After the load it polls /metrics until
`lite_finalize_queue` is 0 and lists `GET /recordings` until every session is one completed
recording with all its chunks (at most `--settle` s): the rest are lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource

from bot_rounds import run_rounds
from bot_sessions import run_sessions

# The modes are in bot_rounds.py and bot_sessions.py (with session_settle.py and session_summary.py),
# the requests in bot_http.py; phase_bots.py and phase_sessions.py run this file via bots_process.py.


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--bots", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=2, help="chunks per bot")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between a bot's chunks")
    parser.add_argument(
        "--pieces", required=True, help="directory of chunk files; the first is a WebM header"
    )
    parser.add_argument("--prefix", default="bench", help="session_uid prefix (one per step)")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument(
        "--session-chunks", default="", help="session mode: chunks per session, N or MIN-MAX (e.g. 3-4)"
    )
    parser.add_argument("--chunk-kb", default="16-160", help="session mode: chunk sizes in KB, MIN-MAX")
    parser.add_argument(
        "--jitter", type=float, default=0.5, help="session mode: up to this much added to Retry-After"
    )
    parser.add_argument("--max-retries", type=int, default=60, help="session mode: Retry-Afters per chunk")
    parser.add_argument("--settle", type=float, default=120.0, help="session mode: wait for completion, s")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    mode = run_sessions if args.session_chunks else run_rounds
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(mode(args))
    else:
        result = uvloop.run(mode(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
