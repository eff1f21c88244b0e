"""Refusals: the rate people hit "I can't help with that", its shifts after provider updates, and /refusals."""

from bot.capabilities import Capability
from bot.detectors import DetectorSpec
from bot.refusals import command, demo, jobs, shift
from bot.refusals.config import RefusalsConfig

CAPABILITY = Capability(
    name="refusals",
    # Scanned model snapshots must be recorded before a shift is tested, so the capability's job
    # runs both in order; the CUSUM already holds an open shift with a lower threshold.
    detectors=[DetectorSpec("refusal_shift", shift.detect, every=None, resolve_after=1, resolved=shift.resolved)],
    jobs=jobs.JOBS,
    commands=[command.COMMAND],
    demo=[demo.provider_update],
    config={"refusals": RefusalsConfig},
)
