"""Attach the leak scan to ingestion once the event API's own settings are ready."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from bot.leaks.scan import Scanner

if TYPE_CHECKING:
    from bot.services import Services


def attach_scanner(services: Services) -> None:
    """Every stored batch goes through the scan (canaries, identifiers, patterns, documents) in its transaction."""
    file = services.settings.file
    scanner = Scanner(file.tenants, file.leaks)
    services.ingest = dataclasses.replace(services.ingest, hooks=(*services.ingest.hooks, scanner))
