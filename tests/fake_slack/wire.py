from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    """An HTTP answer the request handler writes back as is."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Reply:
        """Answer JSON, the way every Web API method answers."""
        extra = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(payload).encode(), extra)

    def decoded(self) -> dict[str, Any]:
        """The JSON body as a dict (empty when the body is not a JSON object)."""
        try:
            payload = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}
        return payload if isinstance(payload, dict) else {}

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Reply:
        """Answer plain text, as Slack's webhook-style and upload endpoints do."""
        return cls(status, text.encode(), {"Content-Type": content_type})

    @classmethod
    def redirect(cls, location: str) -> Reply:
        """Answer a 302, as Slack's file hosts do for sign-in and CDN hand-offs."""
        return cls(302, b"", {"Location": location})


def bearer_token(headers: dict[str, str]) -> str | None:
    """The token from an `Authorization: Bearer ...` header (headers keyed in lower case)."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
