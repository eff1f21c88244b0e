from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """One request to a Web API method, as the fake received and answered it."""

    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    failed: bool = False


@dataclass
class Message:
    """A message as it currently stands in a channel (or an ephemeral one)."""

    channel: str
    ts: str
    text: str
    user: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    updates: int = 0


@dataclass(frozen=True)
class Response:
    """A JSON body posted to a response_url handed out by the fake."""

    url: str
    body: dict[str, Any]
    at: float
    status: int = 200


@dataclass
class StoredFile:
    """A file the fake can describe through files.info and serve at its private URL."""

    id: str
    name: str
    content: bytes
    mimetype: str
    filetype: str
    title: str
    created: float
    redirect_to: str | None = None


@dataclass
class Upload:
    """A file going through the external upload flow used by files_upload_v2."""

    file_id: str
    filename: str
    length: int
    key: str
    content: bytes | None = None
    title: str | None = None
    completed: bool = False
    channel_id: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None


@dataclass(frozen=True)
class ScriptedFailure:
    """How the next call of a method must fail, as asked through fail_next."""

    status: int
    retry_after: int
    error: str | None


class SlackError(Exception):
    """Raised by a method implementation to answer HTTP 200 with ok=false, as Slack does."""

    def __init__(self, code: str, messages: list[str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.messages = messages or []


class RateLimited(Exception):
    """Raised when a call exceeds a rate limit; turned into HTTP 429 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after
