from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.runbooks.loader import default_runbook_dir, duplicate_id_problems, parse_runbook_file, runbook_files
from bot.runbooks.match import STEP_CHAR_LIMIT, compile_template, reflow
from bot.runbooks.model import (
    GENERIC_ID,
    KNOWN_COMMANDS,
    STEPS_SECTION,
    ParsedFile,
    Problem,
    Runbook,
    RunbookError,
    SourceLine,
)

__all__ = ["SAMPLE_LABELS", "Problem", "check_runbooks", "format_problem", "main"]

SAMPLE_LABELS: dict[str, str] = {
    "alertname": "SampleAlert",
    "severity": "high",
    "service": "assistant-api",
    "detector": "cost_burn",
    "cause": "noisy_tenant",
    "tenant": "acme",
    "intent": "billing_question",
    "category": "billing",
    "prompt_version": "support-v42",
    "model": "provider-model-2025-01-01",
    "path": "deep_retrieval",
    "api_key_id": "key_3f9a",
    "request_id": "req_01J0SAMPLE",
}
"""Labels every step must render with: afterlaunch's vocabulary plus common external alert labels."""

_Add = Callable[[int, str], None]
_COMMAND_RE = re.compile(r"(?:^|(?<=[\s`'\"(]))/([A-Za-z][A-Za-z0-9_-]*)(?![A-Za-z0-9_/-])")
_MISSING_LABEL_RE = re.compile(r"has no attribute '([^']+)'")


def check_runbooks(directory: Path) -> list[Problem]:
    """Find every problem in a runbook folder at once, for CI and for authors before they commit."""
    if not directory.is_dir():
        return [Problem(directory, 0, "runbook folder does not exist")]
    parsed = [parse_runbook_file(path) for path in runbook_files(directory)]
    problems: list[Problem] = []
    for pf in parsed:
        problems.extend(pf.problems)
        problems.extend(_lint_file(pf))
    problems.extend(duplicate_id_problems(parsed))
    if not any(pf.path.stem == GENERIC_ID for pf in parsed):
        problems.append(
            Problem(directory, 0, f"no {GENERIC_ID!r} runbook: alerts that match nothing would get no steps")
        )
    return sorted(set(problems))


def format_problem(problem: Problem, *, root: Path | None = None) -> str:
    """Render a problem as 'runbooks/x.md:12: message' so editors and CI logs can jump to it."""
    base = (Path.cwd() if root is None else root).resolve()
    resolved = problem.path.resolve()
    path = resolved.relative_to(base) if resolved.is_relative_to(base) else problem.path
    where = f"{path}:{problem.line}" if problem.line else str(path)
    return f"{where}: {problem.message}"


def _lint_file(pf: ParsedFile) -> list[Problem]:
    problems: list[Problem] = []

    def add(line: int, message: str) -> None:
        problems.append(Problem(pf.path, line, message))

    for index, step in enumerate(pf.steps, start=1):
        if step.number != index:
            add(step.line, f"step numbered {step.number}, expected {index}")
    commands: set[str] = set()
    for name, body in pf.sections.items():
        found = _check_commands(body, add)
        if name == STEPS_SECTION:
            commands = found
    if pf.steps and not commands & KNOWN_COMMANDS:
        add(pf.section_lines[STEPS_SECTION], "no step names an afterlaunch command (e.g. `/cost by tenant 24h`)")
    rb = pf.runbook
    guaranteed: dict[str, str] | None = None
    if rb is not None:
        guaranteed = _guaranteed_labels(rb)
        if rb.kill_switch is not None and "/killswitch" not in commands:
            add(pf.field_lines["kill_switch"], "kill_switch is set but no step says when to run /killswitch")
        if not rb.match and rb.id != GENERIC_ID:
            add(pf.field_lines["match"], f"only the {GENERIC_ID!r} runbook may match every alert; add matchers")
        if rb.match and rb.id == GENERIC_ID:
            add(pf.field_lines["match"], f"the {GENERIC_ID!r} runbook must match every alert: 'match: {{}}'")
    full = {**SAMPLE_LABELS, **(guaranteed or {})}
    for step in pf.steps:
        _check_render(pf, step.source, step.lines, full, guaranteed, add)
    for name, body in pf.sections.items():
        if name != STEPS_SECTION:
            source = "\n".join(sl.text for sl in body).strip()
            lines = [sl for sl in body if sl.text.strip()]
            _check_render(pf, source, lines, full, guaranteed, add)
    return problems


def _check_commands(body: list[SourceLine], add: _Add) -> set[str]:
    found: set[str] = set()
    in_fence = False
    for sl in body:
        if sl.text.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        if in_fence:
            continue
        for m in _COMMAND_RE.finditer(sl.text):
            command = "/" + m.group(1)
            found.add(command)
            if command not in KNOWN_COMMANDS:
                known = " ".join(sorted(KNOWN_COMMANDS))
                add(sl.line, f"unknown slash command {command!r} (known: {known}; write paths as path=/x)")
    return found


def _guaranteed_labels(rb: Runbook) -> dict[str, str]:
    """Labels (with a plausible value) that every alert this runbook matches must carry."""
    out: dict[str, str] = {}
    for name, matcher in rb.match.items():
        out[name] = matcher.values[0] if matcher.kind != "regex" else SAMPLE_LABELS.get(name, "sample")
    return out


def _check_render(
    pf: ParsedFile,
    source: str,
    lines: list[SourceLine],
    full: dict[str, str],
    guaranteed: dict[str, str] | None,
    add: _Add,
) -> None:
    if not lines or lines[0].line in pf.syntax_errors:
        return
    line = lines[0].line
    try:
        rendered = reflow(compile_template(source).render(labels=full))
    except Exception as exc:
        add(line, f"fails to render with sample labels: {exc}")
        return
    if len(rendered) > STEP_CHAR_LIMIT:
        add(line, f"renders past {STEP_CHAR_LIMIT} characters and would be cut on the card")
    if guaranteed is None:
        return
    try:
        compile_template(source).render(labels=guaranteed)
    except Exception as exc:
        m = _MISSING_LABEL_RE.search(str(exc))
        label = m.group(1) if m else "a label"
        add(
            line,
            f"needs {label!r}, which alerts matching this runbook may lack; "
            f'use labels.get("{label}", "...") with a default',
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line check for CI: print each problem and exit non-zero when there are any."""
    parser = argparse.ArgumentParser(prog="python -m bot.runbooks.check", description=main.__doc__)
    parser.add_argument("directory", nargs="?", type=Path, help="runbook folder (default: the bot's own)")
    args = parser.parse_args(argv)
    try:
        directory = default_runbook_dir(args.directory)
    except RunbookError as exc:
        print(exc, file=sys.stderr)
        return 2
    problems = check_runbooks(directory)
    for problem in problems:
        print(format_problem(problem))
    count = len(runbook_files(directory))
    print(f"{count} runbooks, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
