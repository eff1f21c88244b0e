"""What the event API needs ready before the first batch: prices, the user-id key, refusal patterns."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.ingest.pricing import PriceTable
from bot.ingest.service import IngestConfig
from bot.refusals.signal import patterns_from_config

if TYPE_CHECKING:
    from bot.services import Services


def prepare(services: Services) -> None:
    """Load the price table and compile the refusal patterns once; a bad setting stops the start here."""
    settings = services.settings
    refusals = settings.file.refusals
    services.ingest = IngestConfig(
        prices=PriceTable.load(settings.file.prices),
        secret_key=settings.resolve_secret_key(),
        refusal_patterns=patterns_from_config(refusals.extra_patterns, refusals.disable_patterns),
    )
