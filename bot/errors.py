"""Errors that carry a message safe to show to the person who caused them, and the one place that
turns any error into what that person is told: a Slack reply, a CLI message or an HTTP problem."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

log = logging.getLogger("afterlaunch.errors")


class AfterlaunchError(Exception):
    """Base class: ``message`` is written for the user, never contains secrets."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiError(AfterlaunchError):
    """An HTTP API refusal with its status and a stable machine-readable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class UserError(AfterlaunchError):
    """Bad input to a command: shown to the user as is."""


class PermissionDenied(AfterlaunchError):
    """The user lacks the access capability the action needs."""


@dataclass(frozen=True)
class Problem:
    """What to tell the person: an HTTP status and code for APIs, and a message for everyone."""

    status: int
    code: str
    message: str
    ref: str | None = None
    """Set for errors of ours: the id under which the full error was logged."""


def problem_of(exc: BaseException, *, where: str) -> Problem:
    """Known errors say what was wrong; any other is logged once with a reference the person can quote."""
    if isinstance(exc, ApiError):
        return Problem(exc.status, exc.code, exc.message)
    if isinstance(exc, PermissionDenied):
        return Problem(403, "forbidden", exc.message)
    if isinstance(exc, AfterlaunchError):
        return Problem(422, "invalid", exc.message)
    ref = uuid.uuid4().hex[:8]
    log.error("%s failed (ref %s): %s", where, ref, exc.__class__.__name__, exc_info=exc)
    return Problem(500, "internal", f"{where} failed on our side (ref {ref}). The on-call log has the details.", ref)
