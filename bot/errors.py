"""Errors that carry a message safe to show to the person who caused them."""

from __future__ import annotations


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
