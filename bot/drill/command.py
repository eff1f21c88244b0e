"""``/drill``: the scorecard (``history``), the readiness gaps (``readiness``) and drills (responders only)."""

from __future__ import annotations

from bot.access import AccessChecker
from bot.cards import blocks as b
from bot.cards.blocks import Card
from bot.drill import readiness, scorecard
from bot.drill.run import INCIDENTS
from bot.services import Services
from bot.slack.registry import CommandReply, CommandRequest, SlashCommand, error_card

RESPONDERS = "responders"
USAGE = f"/drill [{'|'.join(INCIDENTS)}|all|history|readiness]"


def _card(title: str, body: str) -> Card:
    return Card(text=title, blocks=[b.header(title), b.section(body or "Nothing to report.")])


def handle(services: Services, request: CommandRequest) -> CommandReply:
    words = request.text.split()
    what = words[0].lower() if words else "history"
    if what == "history":
        return CommandReply(_card("Drill scorecard", scorecard.text(services)))
    if what == "readiness":
        gaps = readiness.check(services, request.now)
        lines = [f"{':red_circle:' if g.level == 'critical' else ':warning:'} {g.area}: {g.message}" for g in gaps]
        return CommandReply(_card("Launch readiness", "\n".join(lines[:40]) or "No gap found."))
    if what not in (*INCIDENTS, "all"):
        return CommandReply(error_card(f"unknown drill {what!r}; usage: {USAGE}"))
    if not AccessChecker(services).allowed(request.user_id, RESPONDERS):
        return CommandReply(error_card(f"you need the '{RESPONDERS}' access to run a drill ([access] in the file)."))
    from bot.drill.run import run_drill

    settings = services.settings
    chosen = list(INCIDENTS) if what == "all" else [what]
    run_drill(services, f"http://127.0.0.1:{settings.port}", chosen, request.now)
    return CommandReply(_card(f"Drill: {what}", scorecard.text(services)))


COMMAND = SlashCommand(
    name="/drill",
    description="Rehearse the incidents of the weeks after launch, see the scorecard and the readiness gaps",
    usage_hint="[cost|screenshot|evals|leak|latency|refusals|all|history|readiness]",
    handler=handle,
)
