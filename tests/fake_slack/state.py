from __future__ import annotations

import itertools
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fake_slack.records import (
    Call,
    Message,
    RateLimited,
    Response,
    ScriptedFailure,
    SlackError,
    StoredFile,
    Upload,
)


@dataclass
class TokenBucket:
    """Slack's per-channel posting limit: a short burst, then about one message a second."""

    capacity: float
    refill_per_second: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is available."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_second)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.refill_per_second


@dataclass
class Identity:
    """Who the fake workspace says the bot is."""

    token: str
    team_id: str
    team: str
    bot_user_id: str
    bot_id: str


@dataclass
class State:
    """Everything the fake remembers; every read and write happens under `lock`."""

    identity: Identity
    clock: Callable[[], float]
    burst: int
    refill_per_second: float
    rate_limit: bool
    base_url: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock)
    calls: list[Call] = field(default_factory=list)
    messages: dict[str, list[Message]] = field(default_factory=dict)
    ephemerals: list[Message] = field(default_factory=list)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    homes: dict[str, dict[str, Any]] = field(default_factory=dict)
    issued_triggers: dict[str, float] = field(default_factory=dict)
    used_triggers: set[str] = field(default_factory=set)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    channel_names: dict[str, str] = field(default_factory=dict)
    conversations: dict[tuple[str, ...], str] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)
    response_urls: dict[str, int] = field(default_factory=dict)
    response_url_issued: dict[str, float] = field(default_factory=dict)
    responses: list[Response] = field(default_factory=list)
    failures: dict[str, deque[ScriptedFailure]] = field(default_factory=dict)
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    last_ts_micros: int = 0
    serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def new_id(self, prefix: str) -> str:
        """Hand out a Slack-looking id (`C...`, `V...`, `F...`) unique within this fake."""
        return f"{prefix}0FAKE{next(self.serial):05d}"

    def new_ts(self) -> str:
        """Hand out a message ts that is unique and strictly increasing, like Slack's."""
        micros = max(self.last_ts_micros + 1, int(self.clock() * 1_000_000))
        self.last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def resolve_channel(self, channel: Any) -> str:
        """Turn what a caller passed as `channel` into a channel id, as Slack resolves it."""
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        if channel[0] in "CDG":
            return channel
        if channel[0] in "UW":
            return self.open_conversation((channel,))
        name = channel.removeprefix("#")
        if name not in self.channel_names:
            raise SlackError("channel_not_found")
        return self.channel_names[name]

    def open_conversation(self, users: tuple[str, ...]) -> str:
        """Return the stable DM (one user) or group DM (several) channel for these users."""
        key = tuple(sorted(users))
        if key not in self.conversations:
            self.conversations[key] = self.new_id("D" if len(key) == 1 else "G")
        return self.conversations[key]

    def find_message(self, channel: str, ts: Any) -> Message:
        """Find a live message by channel and ts, or fail the way Slack does."""
        for message in self.messages.get(channel, []):
            if message.ts == ts:
                return message
        raise SlackError("message_not_found")

    def check_post_rate(self, channel: str) -> None:
        """Apply the per-channel chat.postMessage limit, raising RateLimited when it is spent."""
        if not self.rate_limit:
            return
        now = self.clock()
        bucket = self.buckets.get(channel)
        if bucket is None:
            bucket = TokenBucket(float(self.burst), self.refill_per_second, float(self.burst), now)
            self.buckets[channel] = bucket
        wait = bucket.take(now)
        if wait > 0:
            raise RateLimited(max(1, math.ceil(wait)))

    def next_failure(self, method: str) -> ScriptedFailure | None:
        """Pop the next scripted failure for a method, if a test asked for one."""
        queue = self.failures.get(method)
        if not queue:
            return None
        return queue.popleft()

    def record(self, call: Call) -> None:
        """Keep a call and wake anyone waiting for it."""
        self.calls.append(call)
        self.changed.notify_all()
