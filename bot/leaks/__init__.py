"""Cross-tenant leaks: canaries and tenant fingerprints scanned at ingest, and the isolation audit."""

from datetime import timedelta

from bot.capabilities import Capability
from bot.detectors import DetectorSpec
from bot.leaks import cli, command, detector
from bot.leaks.config import AuditConfig, LeaksConfig, TenantFingerprint
from bot.leaks.setup import attach_scanner

CAPABILITY = Capability(
    name="leaks",
    # Resolves after the kernel's clean runs once no request carried the data for [leaks].window_hours.
    detectors=[DetectorSpec(detector.DETECTOR, detector.detect, every=timedelta(minutes=1))],
    commands=[command.COMMAND],
    cli=[cli.canary, cli.audit],
    config={"tenants": dict[str, TenantFingerprint], "leaks": LeaksConfig, "audit": AuditConfig},
    setup=attach_scanner,
)
