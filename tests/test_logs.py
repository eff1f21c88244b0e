from __future__ import annotations

import logging

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
