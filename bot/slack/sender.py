"""Delivers the outbox: to Slack when a token is set, to the terminal in local mode.

One sender runs per deployment (on the replica that leads the scheduler). It
sends each channel's messages in order, posts at most about one message per
second per channel, reschedules on 429 (honouring Retry-After) and 5xx, and
records where each card landed so later changes update it in place. A message
is marked sent only after Slack accepted it: after a crash it is sent again
rather than lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson
from slack_sdk import WebClient
from sqlmodel import Session, select

from bot import metrics
from bot.cards.limits import check_payload, fit
from bot.cards.terminal import to_terminal
from bot.services import Services
from bot.slack import calls
from bot.slack.errors import DeliveryError, classify
from storage import outbox as store
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

POST_INTERVAL = timedelta(seconds=1.05)
WAIT_FOR_PARENT = timedelta(seconds=1)
MAX_BACKOFF = timedelta(minutes=5)
PARALLEL_CHANNELS = 8
"""Channels served at once: a storm over many channels is not sent one message at a time."""


class Deliverer(Protocol):
    """Where messages go; returns (channel, ts) for messages that create something."""

    def post(self, channel: str, payload: dict[str, Any], thread_ts: str | None) -> tuple[str, str]: ...
    def update(self, channel: str, ts: str, payload: dict[str, Any]) -> None: ...
    def ephemeral(self, channel: str, user: str, payload: dict[str, Any]) -> None: ...
    def dm(self, user: str, payload: dict[str, Any]) -> tuple[str, str]: ...
    def home(self, user: str, view: dict[str, Any]) -> None: ...
    def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]: ...


class SlackDeliverer:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except Exception as exc:  # every failure becomes retry-or-not, never an escape
            raise classify(exc) from exc

    def post(self, channel: str, payload: dict[str, Any], thread_ts: str | None) -> tuple[str, str]:
        r = self._call(self.client.chat_postMessage, channel=channel, thread_ts=thread_ts, **payload)
        return r["channel"], r["ts"]

    def update(self, channel: str, ts: str, payload: dict[str, Any]) -> None:
        self._call(self.client.chat_update, channel=channel, ts=ts, **payload)

    def ephemeral(self, channel: str, user: str, payload: dict[str, Any]) -> None:
        self._call(self.client.chat_postEphemeral, channel=channel, user=user, **payload)

    def dm(self, user: str, payload: dict[str, Any]) -> tuple[str, str]:
        opened = self._call(self.client.conversations_open, users=user)
        return self.post(opened["channel"]["id"], payload, None)

    def home(self, user: str, view: dict[str, Any]) -> None:
        self._call(self.client.views_publish, user_id=user, view=view)

    def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call(self.client.api_call, api_method=method, json=args).data)


class LocalDeliverer:
    """Local mode: the card is printed in the terminal, and the outbox keeps it for GET /outbox."""

    def __init__(self, echo: Callable[[str], None] = print, color: bool | None = None) -> None:
        self.echo = echo
        self.color = color
        self._n = 0
        self._lock = threading.Lock()

    def _ts(self) -> str:
        with self._lock:
            self._n += 1
            return f"local.{self._n:06d}"

    def _show(self, heading: str, payload: dict[str, Any]) -> None:
        self.echo(f"── {heading} " + "─" * max(0, 76 - len(heading)))
        self.echo(to_terminal(payload, color=self.color))

    def post(self, channel: str, payload: dict[str, Any], thread_ts: str | None) -> tuple[str, str]:
        self._show(f"{channel} (thread reply)" if thread_ts else channel, payload)
        return channel, self._ts()

    def update(self, channel: str, ts: str, payload: dict[str, Any]) -> None:
        self._show(f"{channel} (card updated)", payload)

    def ephemeral(self, channel: str, user: str, payload: dict[str, Any]) -> None:
        self._show(f"{channel} (only visible to {user})", payload)

    def dm(self, user: str, payload: dict[str, Any]) -> tuple[str, str]:
        self._show(f"direct message to {user}", payload)
        return user, self._ts()

    def home(self, user: str, view: dict[str, Any]) -> None:
        self._show(f"App Home of {user}", {"blocks": view.get("blocks", [])})

    def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        self.echo(f"── {method} {orjson.dumps(args).decode()[:200]}")
        if method == "conversations.create":
            return {"ok": True, "channel": {"id": f"local-{args.get('name', '')}", "name": args.get("name", "")}}
        return {"ok": True}


def utc_now() -> datetime:
    return datetime.now(UTC)


class OutboxSender:
    """Sends what is due; ``run_once`` is what tests call, ``start`` runs it in a thread."""

    def __init__(
        self,
        services: Services,
        deliverer: Deliverer,
        *,
        is_leader: Callable[[], bool] = lambda: True,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.services = services
        self.deliverer = deliverer
        self.is_leader = is_leader
        self.clock = clock
        self.next_post: dict[str, datetime] = {}
        self._pool = ThreadPoolExecutor(max_workers=PARALLEL_CHANNELS, thread_name_prefix="afterlaunch-send")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Send the next due message of every channel; channels go out in parallel, each in order."""
        now = self.clock()
        with self.services.db.session() as session:
            candidates = store.next_per_channel(session=session, now=now)
        claimed = []
        for msg in candidates:
            if msg.kind in ("post", "dm") and self.next_post.get(msg.channel, now) > now:
                continue
            with self.services.db.write_session() as session:
                if store.claim(session=session, message_id=msg.id, now=now):
                    claimed.append(msg.id)
        if len(claimed) <= 1:
            return sum(self._send(message_id, now) for message_id in claimed)
        return sum(self._pool.map(lambda message_id: self._send(message_id, now), claimed))

    def _send(self, message_id: int | None, now: datetime) -> int:
        with self.services.db.write_session() as session:
            msg = session.get(OutboxMessage, message_id)
            if msg is None or msg.status != "pending":
                return 0
            msg = store.supersede_updates(session=session, message=msg)
            target = self._target(session, msg)
            payload = orjson.loads(msg.payload)
            kind, channel, user, card_key, attempts = msg.kind, msg.channel, msg.user, msg.card_key, msg.attempts
            queue = msg.channel
            if target not in ("wait", "orphan"):
                resolved = calls.resolve(session, channel, payload)
                if resolved in ("wait", "orphan"):
                    target = resolved
                else:
                    channel = resolved
        if target == "wait":
            return self._finish(message_id, now, error=DeliveryError("waiting_for_parent", WAIT_FOR_PARENT.seconds))
        if target == "orphan":
            return self._finish(message_id, now, error=DeliveryError("parent_card_failed", None))
        surface = "home" if kind == "home" else "message"
        body = payload.get("view", payload) if kind == "home" else payload
        if kind != "call" and check_payload(body, surface=surface):  # never let Slack reject a card for its size
            body = fit(body, surface=surface)
        try:
            ts = None
            if kind == "post":
                channel, ts = self.deliverer.post(channel, body, target)
            elif kind == "update":
                self.deliverer.update(target[0], target[1], body)
            elif kind == "ephemeral":
                self.deliverer.ephemeral(channel, user or "", body)
            elif kind == "dm":
                channel, ts = self.deliverer.dm(user or channel, body)
            elif kind == "home":
                self.deliverer.home(user or channel, body)
            elif kind == "call":
                channel, ts = calls.run(self.deliverer, body)
            else:
                raise DeliveryError(f"unknown_kind:{kind}", None)
        except DeliveryError as err:
            if err.retry_after is not None:
                growth = 1 if err.code == "ratelimited" else 2 ** min(attempts, 8)
                retry_at = now + min(timedelta(seconds=err.retry_after) * growth, MAX_BACKOFF)
                if err.code == "ratelimited":
                    self.next_post[queue] = retry_at
                return self._finish(message_id, now, error=err, retry_at=retry_at)
            return self._finish(message_id, now, error=err)
        if kind in ("post", "dm"):
            # Paced from when Slack accepted it, not from the start of the tick: a send
            # that waited in the pool would otherwise let the next one follow too soon.
            self.next_post[queue] = self.clock() + POST_INTERVAL
        return self._finish(message_id, now, ts=ts, channel=channel, card_key=card_key)

    def _target(self, session: Session, msg: OutboxMessage) -> Any:
        """What a message needs from the card it refers to: the card's (channel, ts) for an
        update, the parent's ts for a thread reply; 'wait' while that card is not posted yet."""
        key = msg.card_key if msg.kind == "update" else msg.thread_key
        if key is None or msg.kind not in ("update", "post"):
            return None
        card = store.get_card(session=session, card_key=key)
        if card is not None:
            return (card.channel, card.ts) if msg.kind == "update" else card.ts
        parent_failed = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.card_key == key, OutboxMessage.kind == "post", OutboxMessage.status == "failed"
            )
        ).first()
        return "orphan" if parent_failed else "wait"

    def _finish(
        self,
        message_id: int | None,
        now: datetime,
        *,
        error: DeliveryError | None = None,
        retry_at: datetime | None = None,
        ts: str | None = None,
        channel: str | None = None,
        card_key: str | None = None,
    ) -> int:
        with self.services.db.write_session() as session:
            msg = session.get(OutboxMessage, message_id)
            if msg is None:
                return 0
            if error is None:
                store.mark_sent(session=session, message=msg, now=now, ts=ts)
                if ts is not None and card_key and msg.kind in ("post", "dm", "call"):
                    store.save_card(session=session, card_key=card_key, channel=channel or msg.channel, ts=ts, now=now)
                metrics.OUTBOX.labels("sent").inc()
                return 1
            if error.retry_after is not None:
                at = retry_at or now + timedelta(seconds=error.retry_after)
                store.mark_retry(session=session, message=msg, at=at, error=error.code)
                metrics.OUTBOX.labels("retry").inc()
                if error.code != "waiting_for_parent":
                    log.warning("outbox message %s to %s: %s, retrying at %s", msg.id, msg.channel, error.code, at)
                return 0
            store.mark_failed(session=session, message=msg, now=now, error=error.code)
            metrics.OUTBOX.labels("failed").inc()
            log.error("outbox message %s to %s failed for good: %s", msg.id, msg.channel, error.code)
            return 0

    def start(self, wake: threading.Event, interval: float = 0.25) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    if self.is_leader():
                        while self.run_once():
                            pass
                except Exception:
                    log.exception("outbox sender tick failed; trying again")
                wake.wait(interval)
                wake.clear()

        self._thread = threading.Thread(target=loop, name="afterlaunch-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=False)
