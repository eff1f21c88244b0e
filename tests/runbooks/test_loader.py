from pathlib import Path

import pytest

from bot.runbooks.loader import ENV_VAR, default_runbook_dir, load_runbooks
from bot.runbooks.model import KillSwitchHint, Matcher, RunbookError
from tests.runbooks import BASE, GENERIC, line_of, write_runbook

REPO_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


def test_load_parses_every_field(tmp_path: Path) -> None:
    write_runbook(tmp_path, "generic", GENERIC)
    path = write_runbook(tmp_path, "retry")
    (tmp_path / "README.md").write_text("# not a runbook\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored\n", encoding="utf-8")

    runbooks = {rb.id: rb for rb in load_runbooks(tmp_path)}

    assert sorted(runbooks) == ["generic", "retry"]
    rb = runbooks["retry"]
    assert rb.path == path
    assert (rb.title, rb.severity, rb.priority) == ("Sample runbook", "high", 0)
    assert rb.summary == "A runbook used by the tests."
    assert rb.match == {"detector": Matcher.exact("cost_burn"), "cause": Matcher.exact("retry_storm")}
    assert rb.kill_switch == KillSwitchHint("assistant.retries", ["tenant"])
    assert rb.steps == [
        'Run `/cost by key 1h` for {{ labels.get("tenant", "<tenant>") }}.',
        "Stop retries with\n`/killswitch kill assistant.retries`.",
    ]
    assert rb.sections == {"Resolve when": "- Cost per hour is back to normal."}
    assert runbooks["generic"].match == {}
    assert runbooks["generic"].priority == -100
    assert runbooks["generic"].kill_switch is None


def test_matcher_kinds_are_parsed(tmp_path: Path) -> None:
    text = BASE.format(id="kinds").replace(
        "  detector: cost_burn\n  cause: retry_storm\n",
        "  detector: [cost_burn, refusal_shift]\n  alertname: '~(?i).*upstream.*'\n",
    )
    write_runbook(tmp_path, "kinds", text)
    (rb,) = load_runbooks(tmp_path)
    assert rb.match["detector"] == Matcher.any_of(["cost_burn", "refusal_shift"])
    assert rb.match["alertname"].kind == "regex"
    assert rb.match["alertname"].describe() == "~(?i).*upstream.*"


def test_paragraphs_bullets_and_code_fences_in_a_step(tmp_path: Path) -> None:
    text = BASE.format(id="shapes").replace(
        "## Resolve when",
        "## Evidence to collect\n\n```\n## not a heading inside a fence\n```\n\n## Resolve when",
    )
    text = text.replace(
        "   `/killswitch kill assistant.retries`.",
        "   `/killswitch kill assistant.retries`.\n\n   Then check:\n   - the error mix;\n   - the attempts.",
    )
    write_runbook(tmp_path, "shapes", text)
    (rb,) = load_runbooks(tmp_path)
    assert rb.steps[1] == (
        "Stop retries with\n`/killswitch kill assistant.retries`.\n\nThen check:\n- the error mix;\n- the attempts."
    )
    assert rb.sections["Evidence to collect"] == "```\n## not a heading inside a fence\n```"


def test_load_raises_on_the_first_problem_with_its_line(tmp_path: Path) -> None:
    write_runbook(tmp_path, "generic", GENERIC)
    text = BASE.format(id="bad").replace("severity: high", "severity: loud")
    text = text.replace("cause: retry_storm", "cause: '~[oops'")  # a second, later problem
    path = write_runbook(tmp_path, "bad", text)
    with pytest.raises(RunbookError) as info:
        load_runbooks(tmp_path)
    assert (info.value.path, info.value.line) == (path, line_of(text, "severity:"))
    assert str(info.value) == f"{path}:4: severity 'loud' is not one of critical, high, medium, low, info"


def test_load_refuses_unclosed_front_matter_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(RunbookError, match="no runbooks"):
        load_runbooks(tmp_path)
    with pytest.raises(RunbookError, match="does not exist"):
        load_runbooks(tmp_path / "absent")
    path = write_runbook(tmp_path, "open", "---\nid: open\n\n## Steps\n\n1. Run `/alerts`.\n")
    with pytest.raises(RunbookError) as info:
        load_runbooks(tmp_path)
    assert (info.value.path, info.value.line) == (path, 1)
    assert "never closed" in info.value.message


def test_load_accepts_lint_level_issues_the_checker_reports(tmp_path: Path) -> None:
    # An unknown command does not stop the bot from starting; check_runbooks reports it in CI.
    text = BASE.format(id="typo").replace("`/cost by key 1h`", "`/costs by key 1h`")
    write_runbook(tmp_path, "typo", text)
    assert [rb.id for rb in load_runbooks(tmp_path)] == ["typo"]


def test_default_dir_prefers_argument_then_environment(tmp_path: Path) -> None:
    arg, env = tmp_path / "arg", tmp_path / "env"
    arg.mkdir()
    env.mkdir()
    assert default_runbook_dir(arg, environ={ENV_VAR: str(env)}) == arg
    assert default_runbook_dir(str(arg)) == arg
    assert default_runbook_dir(environ={ENV_VAR: str(env)}) == env
    assert default_runbook_dir(environ={}) == REPO_RUNBOOKS
    assert default_runbook_dir(environ={ENV_VAR: ""}) == REPO_RUNBOOKS


def test_default_dir_reads_the_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert default_runbook_dir() == tmp_path


def test_default_dir_refuses_a_missing_override(tmp_path: Path) -> None:
    with pytest.raises(RunbookError, match=ENV_VAR):
        default_runbook_dir(environ={ENV_VAR: str(tmp_path / "nope")})
    with pytest.raises(RunbookError, match="argument"):
        default_runbook_dir(tmp_path / "nope")
