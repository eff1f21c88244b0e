"""Fetch a pasted screenshot from Slack without leaking the bot token: Slack's file hosts only, no redirects."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.errors import UserError
from bot.slack.client import web_client
from bot.triage.images import MB

log = logging.getLogger(__name__)

SLACK_FILE_HOSTS = frozenset({"files.slack.com", "files-edge.slack.com", "files-origin.slack.com", "slack-files.com"})
"""Where Slack serves private files; the token goes nowhere else (plus the host of SLACK_API_URL when set)."""
DOWNLOAD_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


class DownloadRefused(UserError):
    """The file cannot be fetched safely; the message says why without naming any secret."""


@dataclass(frozen=True)
class SlackFile:
    file_id: str
    name: str
    mimetype: str
    data: bytes


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """Slack's file hosts, plus the host of a configured SLACK_API_URL (a stand-in or an enterprise proxy)."""
    hosts = set(SLACK_FILE_HOSTS)
    if settings.slack_api_url:
        host = urlsplit(settings.slack_api_url).hostname
        if host:
            hosts.add(host.lower())
    return frozenset(hosts)


def check_url(url: str, settings: Settings) -> str:
    """Refuse any file URL whose host is not allowed; plain http only for the configured API host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host not in allowed_hosts(settings):
        raise DownloadRefused(
            f"the file's address is on {host or 'no host'}, not one of Slack's file hosts; it was not downloaded"
        )
    api_host = (urlsplit(settings.slack_api_url).hostname or "").lower() if settings.slack_api_url else ""
    if parts.scheme != "https" and not (parts.scheme == "http" and host == api_host):
        raise DownloadRefused(
            f"the file's address uses {parts.scheme or 'no scheme'}, not https; it was not downloaded"
        )
    return url


def file_info(client: WebClient, file_id: str) -> dict[str, Any]:
    """files.info for one file, with Slack's error turned into a message the user can act on."""
    try:
        return dict(client.files_info(file=file_id)["file"])
    except SlackApiError as exc:
        code = exc.response.get("error", "unknown_error") if exc.response is not None else "unknown_error"
        hint = " (the bot needs the files:read scope)" if code in ("missing_scope", "not_allowed_token_type") else ""
        raise DownloadRefused(f"Slack would not describe file {file_id}: {code}{hint}") from None


def fetch_bytes(url: str, settings: Settings, *, max_bytes: int, transport: httpx.BaseTransport | None = None) -> bytes:
    """GET a private file with the bot token, refusing redirects and anything larger than ``max_bytes``."""
    check_url(url, settings)
    assert settings.slack_bot_token is not None
    headers = {"Authorization": f"Bearer {settings.slack_bot_token.get_secret_value()}"}
    with (
        httpx.Client(follow_redirects=False, timeout=DOWNLOAD_TIMEOUT, transport=transport) as client,
        client.stream("GET", url, headers=headers) as response,
    ):
        if response.is_redirect:
            target = urlsplit(response.headers.get("location", "")).hostname or "another page"
            raise DownloadRefused(
                f"Slack redirected the download to {target}; afterlaunch does not follow redirects with its token "
                "(is the file shared in a channel the bot is in?)"
            )
        if response.status_code != 200:
            raise DownloadRefused(f"Slack answered {response.status_code} for the file; it was not downloaded")
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise DownloadRefused(f"the file is {int(declared) / MB:.1f} MB; the limit is {max_bytes / MB:g} MB")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise DownloadRefused(f"the file is larger than {max_bytes / MB:g} MB; it was not downloaded")
            chunks.append(chunk)
    return b"".join(chunks)


def download_file(
    settings: Settings, file_id: str, *, max_bytes: int, transport: httpx.BaseTransport | None = None
) -> SlackFile:
    """files.info, then the private URL with the bot token (allow-listed hosts, no redirects, size-capped)."""
    info = file_info(web_client(settings), file_id)
    if int(info.get("size") or 0) > max_bytes:
        raise DownloadRefused(f"the file is {int(info['size']) / MB:.1f} MB; the limit is {max_bytes / MB:g} MB")
    url = info.get("url_private_download") or info.get("url_private")
    if not url:
        raise DownloadRefused(f"Slack gave no download address for file {file_id} (an external or deleted file?)")
    data = fetch_bytes(str(url), settings, max_bytes=max_bytes, transport=transport)
    log.info("downloaded Slack file %s (%d bytes)", file_id, len(data))
    return SlackFile(file_id, str(info.get("name") or file_id), str(info.get("mimetype") or ""), data)
