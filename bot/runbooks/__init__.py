from typing import Any

from bot.runbooks.loader import default_runbook_dir, load_runbooks, shipped_runbooks
from bot.runbooks.match import kill_switch_scope, match_runbook, render_section, render_steps
from bot.runbooks.model import KillSwitchHint, Matcher, Problem, Runbook, RunbookError

__all__ = [
    "KillSwitchHint",
    "Matcher",
    "Problem",
    "Runbook",
    "RunbookError",
    "check_runbooks",
    "default_runbook_dir",
    "format_problem",
    "kill_switch_scope",
    "load_runbooks",
    "match_runbook",
    "render_section",
    "render_steps",
    "shipped_runbooks",
]


def __getattr__(name: str) -> Any:
    # The checker is imported on first use so `python -m bot.runbooks.check` runs it cleanly.
    if name in ("check_runbooks", "format_problem"):
        from bot.runbooks import check

        return getattr(check, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
