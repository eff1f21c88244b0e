"""Who may post alerts: a bearer token per source (or the shared one), PagerDuty's V3 signature."""

from __future__ import annotations

import hmac

from bot.config import PLACEHOLDER_SECRETS, Settings
from bot.errors import ApiError
from bot.webhooks.pagerduty import signature_valid


def expected_token(settings: Settings, source: str) -> str | None:
    """The source's own token from the config file, else ``AFTERLAUNCH_WEBHOOK_TOKEN``."""
    own = getattr(settings.file.webhooks, source).token
    chosen = own or settings.webhook_token
    return chosen.get_secret_value() if chosen is not None else None


def authenticate(
    settings: Settings, source: str, authorization: str | None, body: bytes, signature: str | None
) -> None:
    """Raise 401 (or 503 when nothing is configured) unless the request proves who sent it."""
    if source == "pagerduty" and settings.pagerduty_webhook_secret is not None:
        if not signature_valid(settings.pagerduty_webhook_secret.get_secret_value(), body, signature):
            raise ApiError(401, "unauthorized", "X-PagerDuty-Signature is missing or does not match the webhook secret")
        return
    token = expected_token(settings, source)
    if token is None:
        raise ApiError(
            503,
            "webhook_not_configured",
            f"no token for the {source} webhook: set AFTERLAUNCH_WEBHOOK_TOKEN or [webhooks.{source}].token",
        )
    if token.strip().lower() in PLACEHOLDER_SECRETS:
        raise ApiError(503, "webhook_not_configured", f"the {source} webhook token is a placeholder; set a random one")
    scheme, _, raw = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise ApiError(401, "unauthorized", "send the webhook token as 'Authorization: Bearer <token>'")
    if not hmac.compare_digest(raw.strip().encode(), token.encode()):
        raise ApiError(401, "unauthorized", f"this token is not the {source} webhook token")
