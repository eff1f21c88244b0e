import logging
from pathlib import Path

import pytest

from bot.runbooks.match import (
    STEP_CHAR_LIMIT,
    kill_switch_scope,
    match_runbook,
    render_section,
    render_steps,
)
from bot.runbooks.model import KillSwitchHint, Matcher, Runbook


def runbook(
    id: str,
    match: dict[str, Matcher] | None = None,
    *,
    priority: int = 0,
    steps: list[str] | None = None,
    sections: dict[str, str] | None = None,
    kill_switch: KillSwitchHint | None = None,
) -> Runbook:
    return Runbook(
        id=id,
        title=id,
        severity="high",
        match=match or {},
        kill_switch=kill_switch,
        priority=priority,
        summary="test",
        steps=steps or ["Run `/alerts`."],
        sections=sections or {},
        path=Path(f"{id}.md"),
    )


GENERIC = runbook("generic", priority=-100)


def test_matcher_semantics() -> None:
    assert Matcher.exact("cost_burn").matches("cost_burn")
    assert not Matcher.exact("cost_burn").matches("cost_burn_2")
    assert not Matcher.exact("cost_burn").matches(None)
    assert Matcher.any_of(["a", "b"]).matches("b")
    assert not Matcher.any_of(["a", "b"]).matches("c")
    upstream = Matcher.regex("(?i).*upstream.*")
    assert upstream.matches("OpenAIUpstreamErrors")
    assert not upstream.matches(None)
    # A regex must match the whole value, not just a part of it.
    assert Matcher.regex("api").matches("api")
    assert not Matcher.regex("api").matches("rapid")


def test_most_matchers_win_over_priority() -> None:
    broad = runbook("broad", {"detector": Matcher.exact("cost_burn")}, priority=50)
    narrow = runbook(
        "narrow", {"detector": Matcher.exact("cost_burn"), "cause": Matcher.exact("retry_storm")}, priority=0
    )
    runbooks = [GENERIC, broad, narrow]
    assert match_runbook(runbooks, {"detector": "cost_burn", "cause": "retry_storm"}) is narrow
    assert match_runbook(runbooks, {"detector": "cost_burn", "cause": "other"}) is broad
    assert match_runbook(runbooks, {"detector": "cost_burn"}) is broad
    assert match_runbook(runbooks, {"cause": "retry_storm"}) is GENERIC


def test_priority_then_id_break_ties() -> None:
    a = runbook("a-first", {"alertname": Matcher.regex(".*Upstream.*")}, priority=1)
    b = runbook("b-second", {"detector": Matcher.exact("provider_outage")}, priority=5)
    c = runbook("c-third", {"detector": Matcher.exact("provider_outage")}, priority=5)
    labels = {"alertname": "UpstreamDown", "detector": "provider_outage"}
    assert match_runbook([GENERIC, a, c, b], labels) is b
    assert match_runbook([GENERIC, a], labels) is a


def test_generic_fallback_and_no_fallback() -> None:
    specific = runbook("specific", {"detector": Matcher.exact("screenshot")})
    assert match_runbook([specific, GENERIC], {}) is GENERIC
    with pytest.raises(LookupError, match="generic"):
        match_runbook([specific], {"detector": "cost_burn"})


def test_render_steps_with_labels() -> None:
    rb = runbook(
        "r",
        steps=[
            "Kill it: `/killswitch kill assistant tenant={{ labels.tenant }}`.",
            'Compare {{ labels.get("prompt_version", "the new prompt version") }}\nwith the previous one.',
        ],
    )
    assert render_steps(rb, {"tenant": "acme", "prompt_version": "v7"}) == [
        "Kill it: `/killswitch kill assistant tenant=acme`.",
        "Compare v7 with the previous one.",
    ]


def test_render_steps_with_missing_labels(caplog: pytest.LogCaptureFixture) -> None:
    rb = runbook(
        "r",
        steps=[
            'Compare {{ labels.get("prompt_version", "the new prompt version") }} with the last.',
            "Kill `/killswitch kill assistant tenant={{ labels.tenant }}`.",
            "{% if labels.tenant is defined %}Tenant {{ labels.tenant }}.{% else %}No tenant.{% endif %}",
        ],
    )
    with caplog.at_level(logging.WARNING, logger="bot.runbooks.match"):
        steps = render_steps(rb, {})
    assert steps == [
        "Compare the new prompt version with the last.",
        "Kill `/killswitch kill assistant tenant={{ labels.tenant }}`.",  # source shown, card survives
        "No tenant.",
    ]
    assert [r.message for r in caplog.records] == ["runbook r: step 2 failed to render; showing its source"]


def test_render_survives_runtime_errors_and_escapes_slack_markup() -> None:
    rb = runbook("r", steps=["{{ 1 // 0 }} & <b>", "Tenant {{ labels.tenant }} & <request id>"])
    assert render_steps(rb, {"tenant": "<!channel> & co"}) == [
        "{{ 1 // 0 }} &amp; &lt;b&gt;",
        "Tenant &lt;!channel&gt; &amp; co &amp; &lt;request id&gt;",
    ]


def test_sandbox_blocks_unsafe_attribute_access() -> None:
    rb = runbook("r", steps=["{{ labels.__class__.__mro__ }}", "{{ labels.update({'a': 1}) }}"])
    # Both are refused by the sandbox, so the card falls back to the source text.
    assert render_steps(rb, {"tenant": "acme"}) == [
        "{{ labels.__class__.__mro__ }}",
        "{{ labels.update({'a': 1}) }}",
    ]


def test_render_caps_length_and_limits_count() -> None:
    rb = runbook("r", steps=["{{ labels.tenant * 2000 }}", "two", "three"])
    steps = render_steps(rb, {"tenant": "ab"})
    assert len(steps[0]) == STEP_CHAR_LIMIT
    assert steps[0].endswith("…") and steps[0].startswith("abab")
    assert render_steps(rb, {"tenant": "x"}, limit=2)[1:] == ["two"]
    assert render_steps(rb, {"tenant": "x"}, limit=0) == []


def test_cap_never_leaves_half_an_entity() -> None:
    rb = runbook("r", steps=["x" * (STEP_CHAR_LIMIT - 3) + "&&&&"])
    (step,) = render_steps(rb, {})
    assert step == "x" * (STEP_CHAR_LIMIT - 3) + "…"


def test_render_section() -> None:
    rb = runbook("r", sections={"Resolve when": '- {{ labels.get("tenant", "the tenant") }} is back\n  to normal.'})
    assert render_section(rb, "Resolve when", {"tenant": "acme"}) == "- acme is back to normal."
    assert render_section(rb, "Resolve when", {}) == "- the tenant is back to normal."
    assert render_section(rb, "Evidence to collect", {}) is None


def test_kill_switch_scope() -> None:
    assert kill_switch_scope(runbook("none"), {"tenant": "acme"}) is None
    scoped = runbook("t", kill_switch=KillSwitchHint("assistant", ["tenant"]))
    assert kill_switch_scope(scoped, {"tenant": "acme", "model": "m"}) == {"tenant": "acme"}
    assert kill_switch_scope(scoped, {"model": "m"}) is None
    assert kill_switch_scope(scoped, {"tenant": ""}) is None
    everywhere = runbook("g", kill_switch=KillSwitchHint("assistant.retries", []))
    assert kill_switch_scope(everywhere, {}) == {}
    both = runbook("b", kill_switch=KillSwitchHint("assistant", ["tenant", "api_key_id"]))
    assert kill_switch_scope(both, {"tenant": "acme", "api_key_id": "k1"}) == {"tenant": "acme", "api_key_id": "k1"}
    assert kill_switch_scope(both, {"tenant": "acme"}) is None
