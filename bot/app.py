"""The ASGI application: wiring only."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
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
from bot.capabilities import Worker, installed
from bot.config import Settings
from bot.detectors.kernel import detector_jobs
from bot.errors import AfterlaunchError, ApiError
from bot.http import authenticate, error_response, json_response
from bot.scheduler import Job, Leadership, build_scheduler
from bot.services import Services, build_services
from bot.slack import home
from bot.slack.bolt import slack_routes
from bot.slack.client import web_client
from bot.slack.sender import Deliverer, LocalDeliverer, OutboxSender, SlackDeliverer
from storage import outbox as outbox_store
from storage.migrate import current

log = logging.getLogger(__name__)


def scheduled_jobs() -> list[Job]:
    """Every job the scheduler runs: the core's, each capability's, and one per detector the kernel schedules."""
    return [
        *retention.JOBS,
        *home.JOBS,
        *(job for capability in installed() for job in capability.jobs),
        *detector_jobs(),
    ]


def deliverer_for(services: Services) -> Deliverer:
    """Slack when a token is set; otherwise the terminal (local mode)."""
    if services.settings.local_mode:
        return LocalDeliverer()
    return SlackDeliverer(web_client(services.settings, retries=False))


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
        return json_response(await run_in_threadpool(check))
    except Exception as exc:
        log.warning("health check failed: %s", exc.__class__.__name__)
        return json_response({"status": "error", "error": exc.__class__.__name__}, 503)


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)


async def list_outbox(request: Request) -> Response:
    services: Services = request.app.state.services
    if not services.settings.local_mode:
        # Cards carry tenant data: outside local mode only an all-tenant read key may list them.
        try:
            key = await run_in_threadpool(authenticate, services, request, "read")
            if key.tenant is not None:
                raise ApiError(403, "forbidden", "the outbox spans tenants: use a key not bound to one")
        except ApiError as err:
            return error_response(err)
    try:
        limit = min(int(request.query_params.get("limit", "50")), 500)
        after = int(request.query_params.get("after", "0"))
    except ValueError:
        return json_response({"error": "invalid_query", "message": "limit and after must be integers"}, 422)

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

    return json_response({"messages": await run_in_threadpool(fetch)})


async def _problem(request: Request, exc: Exception) -> Response:
    """A known error a route raised becomes its HTTP problem response (the one mapping in bot.errors)."""
    return error_response(exc, where=request.url.path)


def create_app(
    settings: Settings,
    *,
    services: Services | None = None,
    start_background: bool = True,
    deliverer: Deliverer | None = None,
) -> Starlette:
    """Build the service; background work (scheduler, outbox sender) starts with the ASGI lifespan."""
    services = services or build_services(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        leadership = Leadership(services)
        scheduler = sender = None
        workers: list[Worker] = []
        if start_background:
            workers = [make(services) for capability in installed() for make in capability.workers]
            for worker in workers:
                worker.start()
            sender = OutboxSender(services, deliverer or deliverer_for(services), is_leader=leadership.is_leader)
            sender.start(services.wake_outbox)
            if settings.scheduler:
                scheduler = build_scheduler(services, scheduled_jobs(), leadership)
                scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            if sender is not None:
                sender.stop()
            for worker in workers:
                worker.stop()
            leadership.release()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/outbox", list_outbox, methods=["GET"]),
        *slack_routes(services),
        *(route for capability in installed() for route in capability.routes),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={AfterlaunchError: _problem})
    app.state.services = services
    return app


def tune_interpreter() -> None:
    """Interpreter settings for a long-running service process.

    Long-lived objects (settings, engines, compiled statements) are moved out of the
    collector's sight and young collections made rarer: the event API allocates many
    short-lived objects per batch, and full collections over a growing heap otherwise
    cost more than validation itself. Short requests (Slack acks) should not wait
    behind long ones holding the GIL, hence the shorter switch interval.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    sys.setswitchinterval(0.001)


def app_from_env() -> Starlette:
    """The app of one ``serve --workers N`` process, configured from the environment like the first."""
    from bot import logs
    from bot.config import load_settings

    settings = load_settings(run_migrations=False)  # the parent migrated before starting the workers
    logs.configure(settings.log_level, logs.secrets_of(settings))
    app = create_app(settings)
    tune_interpreter()
    log.info("worker %d serving", os.getpid())
    return app
