from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from jinja2 import TemplateSyntaxError

from bot.runbooks.frontmatter import parse_front_matter
from bot.runbooks.match import compile_template
from bot.runbooks.model import (
    OPTIONAL_SECTIONS,
    STEPS_SECTION,
    ParsedFile,
    Problem,
    Runbook,
    RunbookError,
    SourceLine,
    StepSource,
)

ENV_VAR = "AFTERLAUNCH_RUNBOOK_DIR"
_REPO_DIR = Path(__file__).resolve().parents[2] / "runbooks"
_PACKAGED_DIR = Path(__file__).resolve().parent / "bundled"

_FENCE = "---"
_HEADING_RE = re.compile(r"##(?!#)\s*(.*?)\s*#*\s*")
_STEP_RE = re.compile(r" {0,3}(\d{1,3})\.(?:[ \t]+(.*))?")
_CODE_FENCE_RE = re.compile(r"\s*(```|~~~)")
_SECTION_NAMES = {name.casefold(): name for name in (STEPS_SECTION, *OPTIONAL_SECTIONS)}


def default_runbook_dir(override: Path | str | None = None, *, environ: Mapping[str, str] | None = None) -> Path:
    """Find the runbooks: the argument, else $AFTERLAUNCH_RUNBOOK_DIR, else the repo's or packaged copy."""
    env = os.environ if environ is None else environ
    chosen = override if override is not None else env.get(ENV_VAR) or None
    if chosen is not None:
        path = Path(chosen).expanduser()
        if not path.is_dir():
            source = "argument" if override is not None else ENV_VAR
            raise RunbookError(path, 0, f"runbook folder given by {source} does not exist")
        return path
    for candidate in (_REPO_DIR, _PACKAGED_DIR):
        if candidate.is_dir():
            return candidate
    raise RunbookError(_REPO_DIR, 0, f"no runbook folder found; set {ENV_VAR}")


def runbook_files(directory: Path) -> list[Path]:
    """List the runbook files of a folder in a stable order (README.md documents the format, it is skipped)."""
    return sorted(p for p in directory.glob("*.md") if p.is_file() and p.name.lower() != "readme.md")


def load_runbooks(directory: Path) -> list[Runbook]:
    """Load every runbook the bot can use, refusing the folder at the first unusable file."""
    if not directory.is_dir():
        raise RunbookError(directory, 0, "runbook folder does not exist")
    parsed: list[ParsedFile] = []
    for path in runbook_files(directory):
        pf = parse_runbook_file(path)
        if pf.problems:
            raise RunbookError.from_problem(min(pf.problems))
        parsed.append(pf)
    duplicates = duplicate_id_problems(parsed)
    if duplicates:
        raise RunbookError.from_problem(duplicates[0])
    if not parsed:
        raise RunbookError(directory, 0, "no runbooks (*.md) in the folder")
    return [pf.runbook for pf in parsed if pf.runbook is not None]


def duplicate_id_problems(parsed: list[ParsedFile]) -> list[Problem]:
    """Report every file that declares an id an earlier file already declared."""
    seen: dict[str, Path] = {}
    problems: list[Problem] = []
    for pf in parsed:
        if pf.declared_id is None:
            continue
        first = seen.setdefault(pf.declared_id, pf.path)
        if first != pf.path:
            line = pf.field_lines.get("id", 1)
            problems.append(Problem(pf.path, line, f"duplicate id {pf.declared_id!r}: {first.name} uses it"))
    return problems


def parse_runbook_file(path: Path) -> ParsedFile:
    """Parse one runbook file, collecting every structural problem with its line instead of stopping."""
    pf = ParsedFile(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        pf.add(1, f"not UTF-8 text: {exc.reason}")
        return pf
    lines = text.splitlines()
    if not lines or lines[0].strip() != _FENCE:
        pf.add(1, "must start with a '---' line that opens the YAML front matter")
        return pf
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip() == _FENCE), None)
    if close is None:
        pf.add(1, "the front matter opened here is never closed by a '---' line")
        return pf
    fields = parse_front_matter(pf, "\n".join(lines[1:close]), first_line=2)
    _parse_body(pf, lines[close + 1 :], first_line=close + 2)
    if fields is not None and not pf.problems:
        pf.runbook = Runbook(
            path=path,
            steps=[step.source for step in pf.steps],
            sections={
                name: "\n".join(sl.text for sl in body).strip()
                for name, body in pf.sections.items()
                if name != STEPS_SECTION
            },
            **fields,
        )
    return pf


def _parse_body(pf: ParsedFile, lines: list[str], *, first_line: int) -> None:
    """Split the Markdown body into sections and the Steps section into numbered steps."""
    sink: list[SourceLine] | None = None
    in_fence = False
    for offset, text in enumerate(lines):
        line = first_line + offset
        if _CODE_FENCE_RE.match(text):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING_RE.fullmatch(text)
        if heading is not None:
            name = _SECTION_NAMES.get(heading.group(1).casefold())
            sink = []
            if name is None:
                known = ", ".join(_SECTION_NAMES.values())
                pf.add(line, f"unknown section {heading.group(1)!r} (known: {known})")
            elif name in pf.sections:
                pf.add(line, f"section {name!r} appears twice")
            else:
                pf.sections[name] = sink
                pf.section_lines[name] = line
            continue
        if sink is not None:
            sink.append(SourceLine(line, text))
        elif text.strip():
            pf.add(line, "text outside a '## ' section is not shown anywhere; move it into one")
    if STEPS_SECTION not in pf.sections:
        pf.add(first_line - 1, "no '## Steps' section after the front matter")
    else:
        _parse_steps(pf, pf.sections[STEPS_SECTION])
    for name, body in pf.sections.items():
        if name != STEPS_SECTION and not any(sl.text.strip() for sl in body):
            pf.add(pf.section_lines[name], f"section {name!r} is empty")
        elif name != STEPS_SECTION:
            _check_syntax(pf, "\n".join(sl.text for sl in body).strip(), _content_lines(body))
    for step in pf.steps:
        _check_syntax(pf, step.source, step.lines)


def _content_lines(body: list[SourceLine]) -> list[SourceLine]:
    start = next((i for i, sl in enumerate(body) if sl.text.strip()), 0)
    return body[start:]


def _parse_steps(pf: ParsedFile, body: list[SourceLine]) -> None:
    step: StepSource | None = None
    after_blank = False
    for sl in body:
        if not sl.text.strip():
            after_blank = step is not None
            if step is not None:
                step.lines.append(SourceLine(sl.line, ""))
            continue
        m = _STEP_RE.fullmatch(sl.text)
        if m is not None:
            if not (m.group(2) or "").strip():
                pf.add(sl.line, f"step {m.group(1)} is empty")
            step = StepSource(int(m.group(1)), [SourceLine(sl.line, (m.group(2) or "").strip())])
            pf.steps.append(step)
            after_blank = False
        elif step is None:
            pf.add(sl.line, "text in '## Steps' before the first numbered step")
        elif after_blank and not sl.text[0].isspace():
            pf.add(sl.line, "text after a blank line in '## Steps' must be indented to belong to a step")
        else:
            step.lines.append(SourceLine(sl.line, sl.text.strip()))
            after_blank = False
    for s in pf.steps:
        while s.lines and not s.lines[-1].text:
            s.lines.pop()
    if not pf.steps:
        pf.add(pf.section_lines[STEPS_SECTION], "'## Steps' has no numbered steps")


def _check_syntax(pf: ParsedFile, source: str, lines: list[SourceLine]) -> None:
    if not lines:
        return
    try:
        compile_template(source)
    except TemplateSyntaxError as exc:
        index = min(max((exc.lineno or 1) - 1, 0), len(lines) - 1)
        pf.add(lines[index].line, f"Jinja does not parse: {exc.message}")
        pf.syntax_errors.add(lines[0].line)


@lru_cache(maxsize=1)
def shipped_runbooks() -> tuple[Runbook, ...]:
    """Runbooks are read once per process; a broken folder leaves cards without steps, never without cards."""
    try:
        return tuple(load_runbooks(default_runbook_dir()))
    except Exception:
        logging.getLogger(__name__).exception("could not load the runbooks; cards and findings will name none")
        return ()
