"""Latency: percentiles per path and intent, budgets, the alarm when a fallback path becomes a main one, providers."""

from datetime import timedelta

from bot.capabilities import Capability
from bot.detectors import DetectorSpec
from bot.latency import command, demo, detector, home
from bot.latency.config import LatencyConfig

CAPABILITY = Capability(
    name="latency",
    # The share alarm already needs both windows above the line; three clean minutes close the card
    # so a share hovering at the line does not open and close it.
    detectors=[DetectorSpec("latency", detector.detect, every=timedelta(minutes=1), resolve_after=3)],
    commands=[command.COMMAND],
    home_sections=[home.budgets_section],
    demo=[demo.fallback_growth],
    config={"latency": LatencyConfig},
)
