"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.datastructures import State

from lite.errors import LiteError
from lite.http.draining import Draining
from lite.http.routes.deps import services


@get("/healthz", summary="The process is alive", tags=["health"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", summary="The index and the storage backend answer", tags=["health"])
async def readyz(state: State) -> Response[dict[str, Any]]:
    draining: Draining | None = state.get("draining")
    if draining is not None and draining.active:
        # At once, without the checks: a load balancer must stop sending here while in-flight
        # requests finish (lite.http.draining).
        body = {"status": "not ready", "checks": {"server": "shutting down"}, "detail": "shutting down"}
        return Response(body, status_code=503)
    svc = services(state)
    checks: dict[str, str] = {}
    try:
        svc.index.ping()
        checks["index"] = "ok"
    except Exception as exc:
        checks["index"] = f"error: {type(exc).__name__}"
    try:
        await svc.storage.check()
        checks["storage"] = "ok"
    except LiteError as exc:
        checks["storage"] = f"error: {exc.detail}"
    if svc.rebuild.error:
        checks["index"] = f"rebuild from storage failed, trying again: {svc.rebuild.error}"
    elif svc.rebuild.running:
        checks["index"] = "rebuilding from storage"
    ready = all(value == "ok" for value in checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "not ready", "checks": checks}
    if svc.rebuild.running:
        body["rebuild"] = svc.rebuild.as_dict()
    quarantine = svc.catalog.quarantine
    if quarantine.count:  # ready, but an operator has files to repair: never silent
        body["quarantined"] = {"count": quarantine.count, "files": quarantine.moved}
    if svc.rebuild.skipped:
        body["unreadable_manifests"] = {"count": len(svc.rebuild.skipped), "files": svc.rebuild.skipped[:100]}
    if not ready:
        body["detail"] = "; ".join(f"{name}: {value}" for name, value in checks.items() if value != "ok")
    return Response(body, status_code=200 if ready else 503)
