"""The isolation audit against the leaky sample feature, each leak mode, and its fixed twin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cards.limits import check_payload
from bot.leaks.audit import AuditError, load_template, run_audit
from bot.leaks.report import report_blocks, report_text
from tests.leaks.sample_service import Feature, serve

TEMPLATE = Path(__file__).parent / "template.toml"


def _audit(feature: Feature, tenants: list[str] | None = None, rounds: int = 2):
    with serve(feature) as url:
        return run_audit(url, load_template(TEMPLATE), tenants or ["acme", "globex"], rounds=rounds, concurrency=4)


def test_fixed_service_is_clean() -> None:
    report = _audit(Feature())
    assert report.exit_code == 0, report_text(report)
    assert report.crossovers == []
    assert len(report.exchanges) > 20


def test_cache_keyed_on_question_is_found_as_same_question() -> None:
    report = _audit(Feature(leaky_cache=True))
    assert report.exit_code == 1
    patterns = {c.pattern for c in report.crossovers}
    assert patterns == {"same question"}
    c = report.crossovers[0]
    assert c.owner != c.receiver
    assert c.planted.tenant == c.owner and c.leaked.tenant == c.receiver
    assert c.planted.message == c.leaked.message
    assert {(c.owner, c.receiver) for c in report.crossovers} == {("acme", "globex"), ("globex", "acme")}


def test_memory_keyed_on_user_is_found_as_same_user() -> None:
    report = _audit(Feature(leaky_memory=True), tenants=["a", "b", "c"])
    assert report.exit_code == 1
    assert {c.pattern for c in report.crossovers} == {"same user id"}
    for c in report.crossovers:
        assert c.planted.user == c.leaked.user and c.planted.tenant != c.leaked.tenant
        assert c.canary in c.planted.message


def test_unreachable_target_is_not_exercisable() -> None:
    with serve(Feature()) as url:
        pass  # the server is shut down: nothing listens there any more
    report = run_audit(url, load_template(TEMPLATE), ["a", "b"], rounds=1, concurrency=2, timeout_s=2)
    assert report.exit_code == 2
    assert "answered no request" in (report.problem or "")


def test_a_feature_that_never_repeats_a_reference_is_not_exercisable(tmp_path: Path) -> None:
    tpl = tmp_path / "t.toml"
    tpl.write_text(TEMPLATE.read_text().replace('field = "answer"', 'field = "tenant"'))
    with serve(Feature(leaky_cache=True)) as url:
        report = run_audit(url, load_template(tpl), ["a", "b"], rounds=1, concurrency=2)
    assert report.exit_code == 2
    assert "ever repeated" in (report.problem or "")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[request]\nurl='{target}/x'\n", "[response] needs field"),
        ("[response]\nfield='a'\n", "[request] needs url"),
        ("[request]\nurl='{target}/x'\nbody={tenant='{tenant}'}\n[response]\nfield='a'\n", "{message}"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_bad_templates_say_what_is_wrong(tmp_path: Path, text: str, error: str) -> None:
    p = tmp_path / "t.toml"
    p.write_text(text)
    with pytest.raises(AuditError, match=error.replace("[", r"\[").replace("{", r"\{")):
        load_template(p)


def test_report_card_fits_block_kit() -> None:
    report = _audit(Feature(leaky_cache=True, leaky_memory=True), rounds=3)
    assert {c.pattern for c in report.crossovers} == {"same question", "same user id"}
    assert check_payload({"blocks": report_blocks(report)}, surface="message") == []


@pytest.mark.parametrize(("feature", "code"), [(Feature(), 0), (Feature(leaky_memory=True), 1)])
def test_cli_exit_codes_and_json(feature: Feature, code: int) -> None:
    with serve(feature) as url:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "bot",
                "audit",
                "isolation",
                "--target",
                url,
                "--template",
                str(TEMPLATE),
                "--tenants",
                "acme,globex",
                "--rounds",
                "1",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == code, proc.stderr
    data = json.loads(proc.stdout)
    assert data["result"] == ["clean", "crossover"][code]
    assert data["requests"] > 0
    if code:
        assert data["crossovers"][0]["pattern"] == "same user id"
