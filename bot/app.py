"""The ASGI application: wiring only."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import metrics, retention
from bot.config import Settings
from bot.ingest import views as ingest_views
from bot.scheduler import Job, Leadership, build_scheduler
from bot.services import Services, build_services
from storage import outbox as outbox_store
from storage.migrate import current

log = logging.getLogger(__name__)


def scheduled_jobs() -> list[Job]:
    """Every job the scheduler runs; later capabilities add their detectors here."""
    return [*retention.JOBS]


async def healthz(request: Request) -> Response:
    services: Services = request.app.state.services

    def check() -> dict[str, Any]:
        with services.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {
            "status": "ok",
            "database": services.db.engine.dialect.name,
            "schema": current(services.db.engine),
            "mode": "local" if services.settings.local_mode else "slack",
        }

    try:
        return ingest_views.json_response(await run_in_threadpool(check))
    except Exception as exc:
        log.warning("health check failed: %s", exc.__class__.__name__)
        return ingest_views.json_response({"status": "error", "error": exc.__class__.__name__}, 503)


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)


async def list_outbox(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        limit = min(int(request.query_params.get("limit", "50")), 500)
        after = int(request.query_params.get("after", "0"))
    except ValueError:
        return ingest_views.json_response(
            {"error": "invalid_query", "message": "limit and after must be integers"}, 422
        )

    def fetch() -> list[dict[str, Any]]:
        with services.db.session() as session:
            msgs = outbox_store.list_messages(session=session, limit=limit, after_id=after)
        return [
            {
                "id": m.id,
                "created_at": m.created_at.isoformat(),
                "kind": m.kind,
                "channel": m.channel,
                "card_key": m.card_key,
                "status": m.status,
                "payload": orjson.loads(m.payload),
            }
            for m in msgs
        ]

    return ingest_views.json_response({"messages": await run_in_threadpool(fetch)})


def create_app(settings: Settings, *, services: Services | None = None, start_background: bool = True) -> Starlette:
    """Build the service; background work (scheduler) starts with the ASGI lifespan."""
    services = services or build_services(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        leadership = Leadership(services)
        scheduler = None
        if start_background and settings.scheduler:
            scheduler = build_scheduler(services, scheduled_jobs(), leadership)
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            leadership.release()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/outbox", list_outbox, methods=["GET"]),
        *ingest_views.routes,
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.services = services
    return app
