"""Spend: budgets, burn-rate alarms with cause attribution, the /cost command and reconciliation with finance."""

from datetime import timedelta

from bot.capabilities import Capability
from bot.cost import command, demo, home, jobs
from bot.cost.detector import detect_cost_burn
from bot.cost.findings import resolved_finding
from bot.cost.reconcile import detect_finance_gap, resolved_gap
from bot.detectors import DetectorSpec

CAPABILITY = Capability(
    name="cost",
    # Both resolve at the first clean evaluation: the burn maths has its own hysteresis (a long
    # and a short window must both burn), and finance gaps are judged on whole days.
    detectors=[
        DetectorSpec(
            "cost_burn", detect_cost_burn, every=timedelta(minutes=1), resolve_after=1, resolved=resolved_finding
        ),
        DetectorSpec("finance_gap", detect_finance_gap, every=None, resolve_after=1, resolved=resolved_gap),
    ],
    jobs=jobs.JOBS,
    commands=[command.COMMAND],
    home_sections=[home.spend_today],
    demo=[demo.cost_spike],
)
