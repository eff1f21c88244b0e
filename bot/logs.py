"""Logging set-up with one guarantee: secrets never reach a log line."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings

TOKEN_PATTERNS = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"\bal_[A-Za-z0-9_-]{20,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)((?:secret|token|password|api[_-]?key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]{6,}"),
]
REDACTED = "[redacted]"


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message, so secrets in args and exceptions are caught too."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, REDACTED)
        for pattern in TOKEN_PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def secrets_of(settings: Settings) -> list[str]:
    """Every secret a log line must never show: the settings' own and provider admin keys from the env."""
    extra = [os.environ.get(name, "") for name in ("OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY")]
    return settings.secret_values() + [v for v in extra if v]


def configure(level: str, secrets: Iterable[str] = ()) -> RedactingFilter:
    """Install one handler on the root logger whose filter redacts every record."""
    root = logging.getLogger()
    root.setLevel(level)
    redactor = RedactingFilter(secrets)
    for handler in list(root.handlers):
        if getattr(handler, "_afterlaunch", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redactor)
    handler._afterlaunch = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    return redactor
