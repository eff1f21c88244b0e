from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")

KNOWN_COMMANDS: frozenset[str] = frozenset(
    {"/cost", "/refusals", "/triage", "/killswitch", "/latency", "/evals", "/alerts", "/audit"}
)

STEPS_SECTION = "Steps"
OPTIONAL_SECTIONS: tuple[str, ...] = ("Evidence to collect", "Roll back / mitigate", "Resolve when")
GENERIC_ID = "generic"

MatcherKind = Literal["exact", "regex", "any_of"]


@dataclass(frozen=True)
class Matcher:
    """One condition on one alert label; a missing label never satisfies it."""

    kind: MatcherKind
    values: tuple[str, ...]
    pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind == "regex" and self.pattern is None:
            object.__setattr__(self, "pattern", re.compile(self.values[0]))

    @classmethod
    def exact(cls, value: str) -> Matcher:
        """Match one literal value, the common case for detector labels."""
        return cls("exact", (value,))

    @classmethod
    def regex(cls, source: str) -> Matcher:
        """Match a whole label value against a regex; raises re.error when it does not compile."""
        return cls("regex", (source,))

    @classmethod
    def any_of(cls, values: list[str] | tuple[str, ...]) -> Matcher:
        """Match any of several literal values."""
        return cls("any_of", tuple(values))

    def matches(self, value: str | None) -> bool:
        """Say whether a label value (None when the alert lacks the label) satisfies this matcher."""
        if value is None:
            return False
        if self.pattern is not None:
            return self.pattern.fullmatch(value) is not None
        return value in self.values

    def describe(self) -> str:
        """Render the matcher the way it is written in a runbook, for cards and error messages."""
        if self.kind == "regex":
            return "~" + self.values[0]
        if self.kind == "any_of":
            return "[" + ", ".join(self.values) + "]"
        return self.values[0]


@dataclass(frozen=True)
class KillSwitchHint:
    """The flag a runbook suggests killing, and which alert labels scope the kill."""

    flag: str
    scope: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Runbook:
    """One parsed runbook file: what it matches and the steps an on-call engineer follows."""

    id: str
    title: str
    severity: Severity
    match: dict[str, Matcher]
    kill_switch: KillSwitchHint | None
    priority: int
    summary: str
    steps: list[str]
    sections: dict[str, str]
    path: Path


@dataclass(frozen=True, order=True)
class Problem:
    """Something wrong in a runbook file; line is 1-based in the file, 0 for the whole file or folder."""

    path: Path
    line: int
    message: str


class RunbookError(Exception):
    """A runbook cannot be loaded; carries the file and line so the author can fix it."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")

    @classmethod
    def from_problem(cls, problem: Problem) -> RunbookError:
        """Turn the first problem the loader found into the exception it raises."""
        return cls(problem.path, problem.line, problem.message)


@dataclass(frozen=True)
class SourceLine:
    """One line of a runbook file as written, with its 1-based line number."""

    line: int
    text: str


@dataclass
class StepSource:
    """One numbered step as written, with the file line of each of its lines."""

    number: int
    lines: list[SourceLine]

    @property
    def line(self) -> int:
        """Where the step starts, for problems that concern the whole step."""
        return self.lines[0].line

    @property
    def source(self) -> str:
        """The step's Jinja source; line k of it is self.lines[k - 1], so template errors map to the file."""
        return "\n".join(sl.text for sl in self.lines).rstrip()


@dataclass
class ParsedFile:
    """Everything the loader learned about one file; the checker lints from it."""

    path: Path
    runbook: Runbook | None = None
    problems: list[Problem] = field(default_factory=list)
    steps: list[StepSource] = field(default_factory=list)
    sections: dict[str, list[SourceLine]] = field(default_factory=dict)
    section_lines: dict[str, int] = field(default_factory=dict)
    field_lines: dict[str, int] = field(default_factory=dict)
    declared_id: str | None = None
    syntax_errors: set[int] = field(default_factory=set)
    """Line numbers of steps/sections whose Jinja does not parse (already reported)."""

    def add(self, line: int, message: str) -> None:
        """Record a problem at a file line; parsing goes on so every problem is found in one pass."""
        self.problems.append(Problem(self.path, line, message))
