from pathlib import Path

import pytest

from bot.runbooks.check import check_runbooks, format_problem, main
from bot.runbooks.model import Problem
from tests.runbooks import BASE, GENERIC, line_of, write_runbook


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_runbook(tmp_path, "generic", GENERIC)
    return tmp_path


def broken(folder: Path, name: str, old: str, new: str) -> tuple[Path, str]:
    """Write BASE with one fragment replaced, asserting the fragment exists so the test stays honest."""
    text = BASE.format(id=name)
    assert old in text
    text = text.replace(old, new)
    return write_runbook(folder, name, text), text


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_valid_folder_has_no_problems(folder: Path) -> None:
    write_runbook(folder, "retry")
    assert check_runbooks(folder) == []


def test_bad_yaml_points_at_its_line(folder: Path) -> None:
    path, text = broken(folder, "bad-yaml", "severity: high", "severity: high: really")
    problem = only(check_runbooks(folder))
    assert problem.path == path
    assert problem.line == line_of(text, "severity: high: really") == 4
    assert "invalid YAML" in problem.message


def test_bad_regex_points_at_the_matcher(folder: Path) -> None:
    path, text = broken(folder, "bad-regex", "cause: retry_storm", "cause: '~(retry|storm'")
    problem = only(check_runbooks(folder))
    assert (problem.path, problem.line) == (path, line_of(text, "cause:"))
    assert "does not compile" in problem.message and "match.cause" in problem.message


def test_unknown_command_on_a_continuation_line(folder: Path) -> None:
    path, text = broken(folder, "bad-cmd", "`/killswitch kill", "`/kilswitch kill")
    problems = check_runbooks(folder)
    unknown = [p for p in problems if "unknown slash command" in p.message]
    assert [(p.path, p.line) for p in unknown] == [(path, line_of(text, "/kilswitch"))]
    assert "'/kilswitch'" in unknown[0].message
    # The runbook still has a kill_switch but no step runs /killswitch any more.
    assert any("no step says when to run /killswitch" in p.message for p in problems)


def test_paths_are_not_mistaken_for_commands(folder: Path) -> None:
    write_runbook(
        folder,
        "paths",
        BASE.format(id="paths").replace(
            "2. Stop retries with", "2. Check path=/search and /v1/answers/stream, then stop retries with"
        ),
    )
    assert check_runbooks(folder) == []


def test_jinja_syntax_error_points_at_the_line_inside_the_step(folder: Path) -> None:
    path, text = broken(
        folder, "bad-jinja", "   `/killswitch kill assistant.retries`.", "   `/killswitch kill {{ labels.get( }}`."
    )
    problem = only(check_runbooks(folder))
    assert (problem.path, problem.line) == (path, line_of(text, "{{ labels.get( }}"))
    assert problem.line == line_of(text, "2. Stop retries") + 1
    assert "Jinja does not parse" in problem.message


def test_step_that_fails_with_sample_labels(folder: Path) -> None:
    path, text = broken(folder, "bad-render", "for {{ labels.get", "for {{ labels.no_such_label }} {{ labels.get")
    problem = only(check_runbooks(folder))
    assert (problem.path, problem.line) == (path, line_of(text, "1. Run"))
    assert "fails to render with sample labels" in problem.message


def test_step_that_needs_a_label_the_match_does_not_guarantee(folder: Path) -> None:
    path, text = broken(folder, "needs-tenant", 'labels.get("tenant", "<tenant>")', "labels.tenant")
    problem = only(check_runbooks(folder))
    assert (problem.path, problem.line) == (path, line_of(text, "1. Run"))
    assert "needs 'tenant'" in problem.message


def test_a_label_the_match_guarantees_may_be_used_directly(folder: Path) -> None:
    broken(folder, "uses-cause", 'labels.get("tenant", "<tenant>")', "labels.cause")
    assert check_runbooks(folder) == []


def test_runtime_error_in_a_step_is_reported_not_raised(folder: Path) -> None:
    path, text = broken(folder, "divide", "for {{ labels.get", "for {{ 1 // 0 }} {{ labels.get")
    problem = only(check_runbooks(folder))
    assert (problem.path, problem.line) == (path, line_of(text, "1. Run"))
    assert "fails to render" in problem.message


def test_duplicate_id_is_reported_on_the_second_file(folder: Path) -> None:
    write_runbook(folder, "first")
    second, text = broken(folder, "second", "id: second", "id: first")
    problems = [p for p in check_runbooks(folder) if p.path == second]
    assert {p.line for p in problems} == {line_of(text, "id: first")}
    messages = " | ".join(p.message for p in problems)
    assert "duplicate id 'first': first.md uses it" in messages
    assert "must equal the file name" in messages


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("severity: high", "severity: urgent", "severity:", "severity 'urgent' is not one of"),
        ("title: Sample runbook", "titel: Sample runbook", "titel:", "unknown field 'titel'"),
        ("kill_switch:\n  flag: assistant.retries\n", "kill_switch:\n", "kill_switch:", "kill_switch has no flag"),
        ("kill_switch:\n  flag: assistant.retries\n  scope: [tenant]\n", "kill_switch:\n", "kill_switch:", "no flag"),
        ("  scope: [tenant]", "  scope: tenant", "scope:", "kill_switch.scope must be a list"),
        ("  cause: retry_storm", "  cause: 42", "cause:", "match.cause: expected a string"),
        ("  cause: retry_storm", "  cause: ~", "cause:", "a bare ~ is null"),
        ("  cause: retry_storm", "  cause: []", "cause:", "the list is empty"),
        ("  cause: retry_storm", "  detector: again", "detector: again", "'detector' is given twice"),
        ("summary: A runbook", "priority: high\nsummary: A runbook", "priority:", "priority must be a whole number"),
        ("2. Stop retries", "3. Stop retries", "3. Stop retries", "step numbered 3, expected 2"),
        ("## Resolve when", "## Resolution", "## Resolution", "unknown section 'Resolution'"),
        ("\n## Steps", "\nStray paragraph.\n\n## Steps", "Stray paragraph.", "text outside a '## ' section"),
    ],
)
def test_field_and_body_problems_point_at_their_line(
    folder: Path, old: str, new: str, needle: str, message: str
) -> None:
    path, text = broken(folder, "broken", old, new)
    problem = only([p for p in check_runbooks(folder) if message in p.message])
    assert (problem.path, problem.line) == (path, line_of(text, needle))


def test_missing_field_points_at_the_front_matter(folder: Path) -> None:
    path, _ = broken(folder, "no-summary", "summary: A runbook used by the tests.\n", "")
    assert only(check_runbooks(folder)) == Problem(path, 1, "missing field 'summary'")


def test_no_steps(folder: Path) -> None:
    text = BASE.format(id="empty-steps")
    start = text.index("1. Run")
    text = text[:start] + text[text.index("## Resolve when") :]
    path = write_runbook(folder, "empty-steps", text)
    problem = only(check_runbooks(folder))
    assert (problem.path, problem.line) == (path, line_of(text, "## Steps"))
    assert "has no numbered steps" in problem.message


def test_missing_steps_section_and_missing_front_matter(folder: Path) -> None:
    no_steps = write_runbook(folder, "no-steps", BASE.format(id="no-steps").split("## Steps")[0])
    no_fm = write_runbook(folder, "no-fm", "# Title\n\n## Steps\n\n1. Run `/alerts`.\n")
    problems = check_runbooks(folder)
    assert Problem(no_steps, 12, "no '## Steps' section after the front matter") in problems
    assert [p for p in problems if p.path == no_fm] == [
        Problem(no_fm, 1, "must start with a '---' line that opens the YAML front matter")
    ]


def test_every_problem_in_a_file_is_reported(folder: Path) -> None:
    text = (
        BASE.format(id="many")
        .replace("severity: high", "severity: loud")
        .replace("cause: retry_storm", "cause: '~[oops'")
        .replace("`/cost by key 1h`", "`/costs by key 1h`")
    )
    path = write_runbook(folder, "many", text)
    lines = sorted(p.line for p in check_runbooks(folder) if p.path == path)
    assert lines == [line_of(text, "severity:"), line_of(text, "cause:"), line_of(text, "/costs")]


def test_missing_generic_and_catch_all_impostor(tmp_path: Path) -> None:
    impostor = write_runbook(tmp_path, "anything", GENERIC.replace("id: generic", "id: anything"))
    problems = check_runbooks(tmp_path)
    assert Problem(tmp_path, 0, "no 'generic' runbook: alerts that match nothing would get no steps") in problems
    assert any(p.path == impostor and p.line == 5 and "only the 'generic'" in p.message for p in problems)


def test_format_problem() -> None:
    root = Path("/srv/afterlaunch")
    assert (
        format_problem(Problem(root / "runbooks" / "x.md", 12, "bad thing"), root=root) == "runbooks/x.md:12: bad thing"
    )
    assert format_problem(Problem(Path("runbooks"), 0, "no runbooks"), root=root) == "runbooks: no runbooks"


def test_main_exit_codes(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(folder)]) == 0
    broken(folder, "bad", "severity: high", "severity: loud")
    assert main([str(folder)]) == 1
    out = capsys.readouterr().out
    assert out.strip().endswith("bad.md:4: severity 'loud' is not one of critical, high, medium, low, info")
    assert main([str(folder / "missing")]) == 2
