"""The one Slack Web API client: base URL from settings, timeouts, retries on 429/5xx."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

from bot.config import Settings

SLACK_API_URL = "https://slack.com/api/"


def api_url(settings: Settings) -> str:
    url = settings.slack_api_url or SLACK_API_URL
    return url if url.endswith("/") else url + "/"


def web_client(settings: Settings, *, retries: bool = True) -> WebClient:
    """Listeners get a client that retries briefly on 429/5xx (honouring Retry-After); the
    outbox sender asks for one without retries, because it reschedules in the database."""
    if settings.slack_bot_token is None:
        raise RuntimeError("no Slack bot token: local mode has no Web API client")
    handlers = [RateLimitErrorRetryHandler(max_retry_count=2), ServerErrorRetryHandler(max_retry_count=2)]
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=api_url(settings),
        timeout=10,
        retry_handlers=handlers if retries else [],
    )
