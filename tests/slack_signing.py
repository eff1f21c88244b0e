from __future__ import annotations

import hashlib
import hmac
import time


def signature(signing_secret: str, body: bytes, timestamp: int) -> str:
    """Compute Slack's v0 request signature, so tests can sign exactly what Slack would send."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_headers(signing_secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack adds to a request it sends us; the caller sets Content-Type for the body."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Slack-Signature": signature(signing_secret, body, ts),
        "X-Slack-Request-Timestamp": str(ts),
    }
