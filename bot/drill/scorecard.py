"""The scorecard kept over time: each drill's results stored, the last per incident, what regressed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.cards import blocks as b
from bot.cards.text import render
from bot.services import Services
from storage import drill as store

if TYPE_CHECKING:
    from bot.drill.run import StepResult


@dataclass(frozen=True)
class Score:
    """One incident's last result, and whether it changed since the drill before."""

    incident: str
    ran_at: str
    passed: bool
    regressed: bool
    recovered: bool
    card_cause: str
    runbook: str
    onset_to_card_s: float | None
    problems: list[str] = field(default_factory=list)


def passed(result: StepResult) -> bool:
    return result.fired and not result.problems


def record(services: Services, run_id: str, results: list[StepResult], now: datetime) -> None:
    rows = [
        store.DrillResult(
            run_id=run_id, incident=r.incident, ran_at=now, passed=passed(r), result=json.dumps(r.to_json())
        )
        for r in results
    ]
    with services.db.write_session() as session:
        store.add_results(session=session, rows=rows)


def history(services: Services) -> list[Score]:
    """The last result per incident type; regressed when it failed after passing the drill before."""
    with services.db.session() as session:
        found = store.latest_per_incident(session=session)
    scores = []
    for incident, rows in sorted(found.items()):
        last, before = rows[0], (rows[1] if len(rows) > 1 else None)
        data: dict[str, Any] = json.loads(last.result)
        scores.append(
            Score(
                incident=incident,
                ran_at=f"{last.ran_at:%Y-%m-%d %H:%M} UTC",
                passed=last.passed,
                regressed=before is not None and before.passed and not last.passed,
                recovered=before is not None and not before.passed and last.passed,
                card_cause=data.get("card_cause", ""),
                runbook=data.get("runbook", ""),
                onset_to_card_s=data.get("onset_to_card_s"),
                problems=list(data.get("problems", [])),
            )
        )
    return scores


def text(services: Services) -> str:
    return str(render("drill_scorecard.md.j2", rows=history(services)))


def home_section(services: Services, now: datetime) -> list[dict[str, Any]]:
    """The App Home's drill scorecard."""
    return [b.header("Drills"), b.section(text(services))]
