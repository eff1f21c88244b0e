import logging
import re
from pathlib import Path

import pytest

from bot.runbooks import (
    check_runbooks,
    kill_switch_scope,
    load_runbooks,
    match_runbook,
    render_section,
    render_steps,
)
from bot.runbooks.model import KNOWN_COMMANDS, OPTIONAL_SECTIONS, Runbook

RUNBOOK_DIR = Path(__file__).resolve().parents[2] / "runbooks"


@pytest.fixture(scope="module")
def runbooks() -> list[Runbook]:
    return load_runbooks(RUNBOOK_DIR)


def test_shipped_runbooks_have_no_problems() -> None:
    assert check_runbooks(RUNBOOK_DIR) == []


def test_every_runbook_file_loads(runbooks: list[Runbook]) -> None:
    files = sorted(p.stem for p in RUNBOOK_DIR.glob("*.md") if p.name != "README.md")
    assert sorted(rb.id for rb in runbooks) == files
    assert len(files) >= 17


CASES = [
    ({"detector": "cost_burn", "cause": "runaway_agent_loop", "tenant": "acme"}, "cost-runaway-agent-loop"),
    ({"detector": "cost_burn", "cause": "prompt_regression", "prompt_version": "v9"}, "cost-prompt-regression"),
    ({"detector": "cost_burn", "cause": "model_upgrade", "model": "m-2025"}, "cost-model-upgrade"),
    ({"detector": "cost_burn", "cause": "retry_storm", "tenant": "acme"}, "cost-retry-storm"),
    ({"detector": "cost_burn", "cause": "noisy_tenant", "tenant": "acme"}, "cost-noisy-tenant"),
    ({"detector": "cost_burn", "cause": "leaked_api_key", "api_key_id": "key_1"}, "cost-leaked-api-key"),
    ({"detector": "cost_burn", "tenant": "acme"}, "cost-burn-unknown"),
    ({"detector": "cost_burn", "cause": "something_new"}, "cost-burn-unknown"),
    ({"detector": "screenshot", "request_id": "req_1", "tenant": "acme"}, "screenshot-report"),
    ({"detector": "eval_drift", "intent": "billing_question"}, "eval-drift"),
    ({"detector": "tenant_leak", "tenant": "acme"}, "tenant-leak"),
    ({"detector": "latency", "cause": "fallback_share", "path": "deep_retrieval"}, "latency-fallback-path"),
    ({"detector": "refusal_shift", "category": "billing", "model": "m-2025"}, "refusal-shift"),
    ({"detector": "model_change", "model": "m-2025-06"}, "model-snapshot-new"),
    ({"detector": "provider_outage"}, "provider-outage"),
    ({"alertname": "OpenAIUpstreamErrors", "severity": "critical"}, "provider-upstream-alert"),
    ({"alertname": "anthropic_5xx_rate", "service": "gateway"}, "provider-upstream-alert"),
    ({"detector": "provider_outage", "alertname": "ProviderDown"}, "provider-outage"),
    ({"detector": "finance_gap"}, "finance-gap"),
    ({}, "generic"),
    ({"alertname": "DiskFull", "service": "db"}, "generic"),
    ({"detector": "something_else"}, "generic"),
]


@pytest.mark.parametrize(("labels", "expected"), CASES, ids=[c[1] + str(i) for i, c in enumerate(CASES)])
def test_each_failure_mode_gets_its_runbook(runbooks: list[Runbook], labels: dict[str, str], expected: str) -> None:
    assert match_runbook(runbooks, labels).id == expected


def test_severities_and_generic_priority(runbooks: list[Runbook]) -> None:
    by_id = {rb.id: rb for rb in runbooks}
    assert by_id["model-snapshot-new"].severity == "info"
    assert by_id["tenant-leak"].severity == "critical"
    assert by_id["generic"].match == {}
    assert by_id["generic"].priority == min(rb.priority for rb in runbooks)


def test_each_runbook_names_commands_and_only_known_ones(runbooks: list[Runbook]) -> None:
    for rb in runbooks:
        text = "\n".join(rb.steps)
        named = set(re.findall(r"`(/[a-z]+)", text))
        assert named, rb.id
        assert named <= KNOWN_COMMANDS, (rb.id, named - KNOWN_COMMANDS)
        if rb.kill_switch is not None:
            assert f"/killswitch kill {rb.kill_switch.flag}" in text, rb.id


@pytest.mark.parametrize(("labels", "expected"), CASES, ids=[c[1] + str(i) for i, c in enumerate(CASES)])
def test_steps_render_cleanly_for_real_alerts(
    runbooks: list[Runbook], labels: dict[str, str], expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    rb = match_runbook(runbooks, labels)
    with caplog.at_level(logging.WARNING, logger="bot.runbooks.match"):
        steps = render_steps(rb, labels)
        sections = [render_section(rb, name, labels) for name in OPTIONAL_SECTIONS]
    assert caplog.records == []  # nothing fell back to source text
    assert len(steps) == len(rb.steps) >= 4
    for text in [*steps, *(s for s in sections if s is not None)]:
        assert "{{" not in text and "{%" not in text
        assert 0 < len(text) <= 1500
    for key, value in labels.items():
        if any(f'labels.get("{key}"' in s or f"labels.{key}" in s for s in rb.steps):
            assert any(value in s for s in steps), (rb.id, key)


def test_kill_switch_suggestions_are_scoped_as_written(runbooks: list[Runbook]) -> None:
    by_id = {rb.id: rb for rb in runbooks}
    noisy = by_id["cost-noisy-tenant"]
    assert kill_switch_scope(noisy, {"detector": "cost_burn", "tenant": "acme"}) == {"tenant": "acme"}
    assert kill_switch_scope(noisy, {"detector": "cost_burn"}) is None
    leaked = by_id["cost-leaked-api-key"]
    assert kill_switch_scope(leaked, {"api_key_id": "key_1", "tenant": "acme"}) == {"api_key_id": "key_1"}
    assert kill_switch_scope(by_id["cost-retry-storm"], {}) == {}
    assert kill_switch_scope(by_id["finance-gap"], {"tenant": "acme"}) is None
    loop = by_id["cost-runaway-agent-loop"]
    assert loop.kill_switch is not None and loop.kill_switch.flag == "assistant.agent_tools"
    (killer,) = [s for s in render_steps(loop, {"tenant": "acme"}) if "/killswitch" in s]
    assert "`/killswitch kill assistant.agent_tools tenant=acme`" in killer
