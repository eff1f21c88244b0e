"""Evals: user feedback, offline suite runs and production labels in; divergence and coverage alarms; /evals."""

from datetime import timedelta

from bot.capabilities import Capability
from bot.detectors import DetectorSpec
from bot.evals import cli, command, demo, detector, home, jobs, slack, views
from bot.evals.config import EvalsConfig

CAPABILITY = Capability(
    name="evals",
    # A week-long window moves slowly: every 10 minutes is plenty, and three clean looks resolve.
    detectors=[
        DetectorSpec("eval_divergence", detector.detect_divergence, every=timedelta(minutes=10)),
        DetectorSpec("eval_coverage", detector.detect_coverage, every=timedelta(minutes=10)),
    ],
    jobs=jobs.JOBS,
    commands=[command.COMMAND],
    listeners=[slack.register],
    home_sections=[home.evals_summary],
    routes=views.routes,
    cli=[cli.evals],
    demo=[demo.offline_vs_users],
    config={"evals": EvalsConfig},
)
