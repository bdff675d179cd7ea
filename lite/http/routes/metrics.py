"""GET /metrics: the server's Prometheus metrics, in the text exposition format.

Open by default: Prometheus scrapes without credentials out of the box, and no label holds an id,
an email, a key or a token (lite.ops.metrics). With METRICS_TOKEN set it takes
`Authorization: Bearer <METRICS_TOKEN>` (Prometheus' `authorization` scrape setting), for a server
whose /metrics the internet can reach. docs/metrics.md.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from lite.http.routes.deps import services


def _authorized(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, credentials = given.partition(" ")
    # Compared in constant time: the answer's timing must not spell the token out.
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), token.encode())


@get(
    "/metrics",
    summary="Prometheus metrics",
    include_in_schema=False,  # an operator's endpoint, not part of the recordings API
)
async def metrics(request: Request, state: State) -> Response[Any]:
    svc = services(state)
    token = svc.settings.metrics_token
    if token and not _authorized(request, token):
        return Response(
            {"detail": "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>", "code": "unauthorized"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    # Scrape-time values come from the index in the event loop: a few small queries, milliseconds.
    return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)
