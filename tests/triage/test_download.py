"""Downloading a pasted file from the Slack stand-in: the token goes to Slack's file hosts only, never elsewhere."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest
from pydantic import SecretStr

from bot.config import Settings, load_settings
from bot.triage.download import DownloadRefused, allowed_hosts, check_url, download_file
from tests.fake_slack import FakeSlack


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        type(self).seen.append(dict(self.headers))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"\x89PNG\r\n\x1a\nstolen")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def elsewhere() -> Iterator[str]:
    """Another host (localhost, not the stand-in's 127.0.0.1) that records any request reaching it."""
    _Recorder.seen = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}/evil.png"
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings_for(fake_slack: FakeSlack, tmp_path) -> Settings:
    return load_settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        config_file=tmp_path / "none.toml",
        slack_bot_token=SecretStr(fake_slack.token),
        slack_signing_secret=SecretStr("test-signing-secret-8f14e45fceea167a"),
        slack_api_url=fake_slack.api_url,
    )


def test_downloads_with_the_token_from_the_api_host(fake_slack: FakeSlack, settings_for: Settings) -> None:
    fake_slack.add_file("F0SHOT01", b"\x89PNG\r\n\x1a\nbytes", "shot.png", "image/png", "png")
    got = download_file(settings_for, "F0SHOT01", max_bytes=1024)
    assert got.data == b"\x89PNG\r\n\x1a\nbytes" and got.name == "shot.png"


def test_a_redirect_elsewhere_is_refused_and_the_token_never_leaves(
    fake_slack: FakeSlack, settings_for: Settings, elsewhere: str
) -> None:
    fake_slack.add_file("F0SHOT02", b"x", "shot.png", "image/png", "png", redirect_to=elsewhere)
    with pytest.raises(DownloadRefused, match="redirected the download to localhost"):
        download_file(settings_for, "F0SHOT02", max_bytes=1024)
    assert _Recorder.seen == []


def test_oversized_files_are_not_downloaded(fake_slack: FakeSlack, settings_for: Settings) -> None:
    fake_slack.add_file("F0BIG001", b"\x89PNG" + b"0" * 5000, "big.png", "image/png", "png")
    with pytest.raises(DownloadRefused, match="limit is"):
        download_file(settings_for, "F0BIG001", max_bytes=1000)


def test_unknown_file_is_a_clear_refusal(settings_for: Settings) -> None:
    with pytest.raises(DownloadRefused, match="file_not_found"):
        download_file(settings_for, "F0NOPE01", max_bytes=1000)


def test_allow_list(settings_for: Settings) -> None:
    assert "files.slack.com" in allowed_hosts(settings_for) and "127.0.0.1" in allowed_hosts(settings_for)
    assert check_url("https://files.slack.com/files-pri/T1-F1/shot.png", settings_for)
    for url, why in [
        ("https://evil.example.com/shot.png", "evil.example.com"),
        ("https://files.slack.com.evil.example/x.png", "not one of Slack's file hosts"),
        ("http://files.slack.com/files-pri/x.png", "not https"),
    ]:
        with pytest.raises(DownloadRefused, match=why):
            check_url(url, settings_for)
