"""Delivers the outbox: to Slack when a token is set, to the terminal in local mode.

One sender runs per deployment (on the replica that leads the scheduler). It
sends each channel's messages in order, posts at most about one message per
second per channel and updates at most 50 a minute per channel and one every
few seconds per card, reschedules on 429 (waiting the whole Retry-After) and
5xx, and records where each card landed so later changes update it in place.

The pace is kept in the database (``slack_pacing``), so a new leader after a
failover keeps it. A message is marked sent only after Slack accepted it; each
post carries its outbox id in Slack message metadata, and a sender resuming a
post whose previous attempt never finished (a crash between Slack's answer and
the mark) first looks for that id in the channel's recent history: found, it is
marked sent with Slack's ts instead of being posted twice.
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
from storage import pacing
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

POST_INTERVAL = timedelta(seconds=1.05)
UPDATE_INTERVAL = timedelta(seconds=1.25)
"""chat.update per channel: Slack allows about 50 a minute."""
CARD_UPDATE_INTERVAL = timedelta(seconds=3)
"""One card is rewritten at most this often; updates waiting meanwhile collapse into the newest."""
METADATA_TYPE = "afterlaunch_outbox"
HISTORY_LOOKBACK = 100
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
    def find_posted(self, channel: str, outbox_id: int, thread_ts: str | None) -> tuple[str, str] | None: ...


def stamp(outbox_id: int) -> dict[str, Any]:
    """The Slack message metadata that names the outbox message a post came from."""
    return {"event_type": METADATA_TYPE, "event_payload": {"outbox_id": outbox_id}}


def stamped_with(message: dict[str, Any]) -> int | None:
    meta = message.get("metadata") or {}
    if meta.get("event_type") != METADATA_TYPE:
        return None
    value = (meta.get("event_payload") or {}).get("outbox_id")
    return value if isinstance(value, int) else None


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

    def find_posted(self, channel: str, outbox_id: int, thread_ts: str | None) -> tuple[str, str] | None:
        """(channel, ts) of a recent message stamped with ``outbox_id``, if one reached Slack."""
        if channel[:1] in ("U", "W"):
            channel = self._call(self.client.conversations_open, users=channel)["channel"]["id"]
        args = {"channel": channel, "limit": HISTORY_LOOKBACK, "include_all_metadata": True}
        if thread_ts:
            found = self._call(self.client.conversations_replies, ts=thread_ts, **args)
        else:
            found = self._call(self.client.conversations_history, **args)
        for message in found.get("messages") or []:
            if stamped_with(message) == outbox_id:
                return channel, str(message["ts"])
        return None


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

    def find_posted(self, channel: str, outbox_id: int, thread_ts: str | None) -> tuple[str, str] | None:
        return None  # the terminal keeps no history: printing a card twice after a crash is harmless


def pace_intervals(kind: str, channel: str, card_key: str | None) -> dict[str, timedelta]:
    """What a sent message holds back, and for how long: posts per channel; updates per channel and per card."""
    if kind in ("post", "dm"):
        return {f"post:{channel}": POST_INTERVAL}
    if kind == "update":
        held = {f"update:{channel}": UPDATE_INTERVAL}
        if card_key:
            held[f"card:{card_key}"] = CARD_UPDATE_INTERVAL
        return held
    return {}


def pace_keys(kind: str, channel: str, card_key: str | None) -> list[str]:
    return list(pace_intervals(kind, channel, card_key))


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
        self._pool = ThreadPoolExecutor(max_workers=PARALLEL_CHANNELS, thread_name_prefix="afterlaunch-send")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Send the next due message of every channel; channels go out in parallel, each in order."""
        now = self.clock()
        with self.services.db.session() as session:
            candidates = store.next_per_channel(session=session, now=now)
            keys = [k for m in candidates for k in pace_keys(m.kind, m.channel, m.card_key)]
            paced = pacing.get_pacing(session=session, keys=keys)
        claimed: list[tuple[int, bool]] = []
        for msg in candidates:
            if any(paced.get(k, now) > now for k in pace_keys(msg.kind, msg.channel, msg.card_key)):
                continue
            # A lease left behind (claimed_until set on a pending message) means an earlier
            # attempt never finished: that post may already be in Slack.
            resumed = msg.claimed_until is not None
            with self.services.db.write_session() as session:
                if store.claim(session=session, message_id=msg.id, now=now):
                    claimed.append((msg.id, resumed))  # type: ignore[arg-type]
        if len(claimed) <= 1:
            return sum(self._send(message_id, now, resumed) for message_id, resumed in claimed)
        return sum(self._pool.map(lambda c: self._send(c[0], now, c[1]), claimed))

    def _send(self, message_id: int, now: datetime, resumed: bool = False) -> int:
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
        if kind in ("post", "dm"):
            body = {**body, "metadata": stamp(message_id)}
        try:
            ts = None
            found = None
            if resumed and kind in ("post", "dm"):
                found = self.deliverer.find_posted(user or channel if kind == "dm" else channel, message_id, target)
                if found is not None:
                    log.info("outbox message %s had reached Slack before a restart; not posting it again", message_id)
                    channel, ts = found
            if found is not None:
                pass
            elif kind == "post":
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
            answered = self.clock()  # Retry-After counts from Slack's answer, not from the tick's start
            if err.retry_after is not None:
                growth = 1 if err.code == "ratelimited" else 2 ** min(attempts, 8)
                retry_at = answered + min(timedelta(seconds=err.retry_after) * growth, MAX_BACKOFF)
                held = {}
                if err.code == "ratelimited":
                    held = {k: retry_at for k in pace_keys(kind, queue, None)}
                return self._finish(message_id, now, error=err, retry_at=retry_at, pace=held)
            return self._finish(message_id, now, error=err)
        # Paced from when Slack accepted it, not from the start of the tick: a send
        # that waited in the pool would otherwise let the next one follow too soon.
        accepted = self.clock()
        pace = {k: accepted + interval for k, interval in pace_intervals(kind, queue, card_key).items()}
        return self._finish(message_id, now, ts=ts, channel=channel, card_key=card_key, pace=pace)

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
        pace: dict[str, datetime] | None = None,
    ) -> int:
        with self.services.db.write_session() as session:
            for key, at in (pace or {}).items():
                pacing.push_pacing(session=session, key=key, at=at)
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
