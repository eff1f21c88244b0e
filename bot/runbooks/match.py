from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.runbooks.model import GENERIC_ID, Runbook

log = logging.getLogger(__name__)

STEP_CHAR_LIMIT = 1500
"""Longest rendered step (or section) a card shows; Slack sections hold 3,000 characters."""

_ELLIPSIS = "…"
_BULLETS = ("- ", "* ", "• ")


def _blank_none(value: Any) -> Any:
    return "" if value is None else value


def slack_escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn treats as markup, so no label can inject a mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ENV = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_blank_none,
)


@lru_cache(maxsize=1024)
def compile_template(source: str) -> Template:
    """Compile runbook Jinja once; raises jinja2.TemplateSyntaxError with a template line number."""
    return _ENV.from_string(source)


def reflow(text: str) -> str:
    """Join Markdown soft-wrapped lines, since Slack does not reflow them; blank lines and bullets break."""
    out: list[str] = []
    buf: str | None = None
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line.startswith(_BULLETS):
            if buf is not None:
                out.append(buf)
            buf = line or None
            continue
        buf = line if buf is None else f"{buf} {line}"
    if buf is not None:
        out.append(buf)
    return "\n".join(out)


def cap(text: str, limit: int = STEP_CHAR_LIMIT) -> str:
    """Cut text to a card's limit, marking the cut."""
    if len(text) <= limit:
        return text
    head = text[: limit - len(_ELLIPSIS)]
    amp = head.rfind("&", max(0, len(head) - 5))
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]  # do not leave half of an &amp; entity
    return head.rstrip() + _ELLIPSIS


def to_mrkdwn(text: str) -> str:
    """Turn rendered (or raw) runbook text into what a card shows: escaped, reflowed, capped."""
    return cap(reflow(slack_escape(text)))


def render_template(source: str, labels: Mapping[str, str]) -> str:
    """Render one step or section as Slack mrkdwn; raises jinja2.TemplateError for the caller to handle."""
    return to_mrkdwn(compile_template(source).render(labels=dict(labels)))


def _render_or_source(runbook: Runbook, what: str, source: str, labels: Mapping[str, str]) -> str:
    try:
        return render_template(source, labels)
    except Exception:  # a template can raise anything (TypeError, ZeroDivisionError); the card must survive
        log.warning("runbook %s: %s failed to render; showing its source", runbook.id, what, exc_info=True)
        return to_mrkdwn(source)


def render_steps(runbook: Runbook, labels: Mapping[str, str], *, limit: int | None = None) -> list[str]:
    """Fill a runbook's steps with an alert's labels for a triage card, never failing the card."""
    sources = runbook.steps if limit is None else runbook.steps[: max(limit, 0)]
    return [_render_or_source(runbook, f"step {n}", source, labels) for n, source in enumerate(sources, start=1)]


def render_section(runbook: Runbook, name: str, labels: Mapping[str, str]) -> str | None:
    """Fill one optional section (e.g. "Roll back / mitigate") with labels; None when the runbook has none."""
    source = runbook.sections.get(name)
    if source is None:
        return None
    return _render_or_source(runbook, f"section {name!r}", source, labels)


def runbook_matches(runbook: Runbook, labels: Mapping[str, str]) -> bool:
    """Say whether every matcher of a runbook holds for an alert's labels."""
    return all(matcher.matches(labels.get(name)) for name, matcher in runbook.match.items())


def match_runbook(runbooks: list[Runbook], labels: Mapping[str, str]) -> Runbook:
    """Pick the runbook for an alert: most matchers satisfied, then priority, else the generic one."""
    candidates = [rb for rb in runbooks if runbook_matches(rb, labels)]
    if candidates:
        return min(candidates, key=lambda rb: (-len(rb.match), -rb.priority, rb.id))
    for rb in runbooks:
        if rb.id == GENERIC_ID:
            return rb
    raise LookupError(f"no runbook matches {dict(labels)!r} and there is no {GENERIC_ID!r} runbook")


def kill_switch_scope(runbook: Runbook, labels: Mapping[str, str]) -> dict[str, str] | None:
    """Scope for the suggested kill: {} means everywhere, None means no safe suggestion for this alert."""
    hint = runbook.kill_switch
    if hint is None:
        return None
    scope: dict[str, str] = {}
    for name in hint.scope:
        value = labels.get(name)
        if not value:
            return None
        scope[name] = value
    return scope
