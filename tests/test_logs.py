from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.logs import RedactingFilter


@pytest.mark.parametrize(
    "secret",
    [
        "xoxb-1234567890-abcdefABCDEF",
        "xapp-1-A0123-456-abcdef",
        "al_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo",
    ],
)
def test_tokens_never_reach_a_log_line(secret: str, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("afterlaunch.test")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("calling with %s", secret)
        logger.info("header Authorization: Bearer %s", secret)
        try:
            raise RuntimeError(f"failed for token={secret}")
        except RuntimeError:
            logger.exception("boom")
    assert caplog.records
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert secret not in (record.exc_text or "")
    assert "[redacted]" in caplog.text


def test_configured_secrets_are_redacted_whatever_their_shape(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(RedactingFilter(["8f14e45fceea167a5a36dedd4bea2543"]))
    with caplog.at_level(logging.INFO):
        logging.getLogger("afterlaunch.test").info("signing secret is 8f14e45fceea167a5a36dedd4bea2543, ok")
    assert "8f14e45f" not in caplog.text
    assert "ok" in caplog.text


def test_every_secret_setting_is_known_to_the_redactor(tmp_path: Path) -> None:
    from bot.config import load_settings

    path = tmp_path / "afterlaunch.toml"
    path.write_text('[webhooks.alertmanager]\ntoken = "am-token-0123456789"\n')
    settings = load_settings(
        config_file=path,
        slack_bot_token="xoxb-1-2-secretbot",
        slack_signing_secret="signing-0123456789",
        webhook_token="webhook-0123456789",
        pagerduty_routing_key="pd-routing-0123456789",
    )
    values = set(settings.secret_values())
    assert {"xoxb-1-2-secretbot", "signing-0123456789", "webhook-0123456789", "pd-routing-0123456789"} <= values
    assert "am-token-0123456789" in values
