"""Slack API failures, sorted into what to do about them: retry later, or give up loudly."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

PERMANENT = {
    "invalid_blocks",
    "invalid_blocks_format",
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "msg_too_long",
    "no_text",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "user_not_found",
    "cant_update_message",
    "message_not_found",
    "invalid_arguments",
}


@dataclass(frozen=True)
class DeliveryError(Exception):
    """A send that failed; ``retry_after`` is set when trying again later can succeed."""

    code: str
    retry_after: float | None

    def __str__(self) -> str:
        return self.code


def classify(exc: Exception) -> DeliveryError:
    """Slack error -> (retry?, when): 429 honours Retry-After, 5xx and network errors back off."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        code = str(exc.response.get("error") or f"http_{status}")
        if status == 429 or code == "ratelimited":
            header = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after") or "1"
            try:
                wait = float(header[0] if isinstance(header, list) else header)
            except ValueError:
                wait = 1.0
            return DeliveryError("ratelimited", max(wait, 0.5))
        if status >= 500:
            return DeliveryError(f"http_{status}", 2.0)
        if code in PERMANENT:
            return DeliveryError(code, None)
        return DeliveryError(code, 5.0)
    return DeliveryError(exc.__class__.__name__, 2.0)
