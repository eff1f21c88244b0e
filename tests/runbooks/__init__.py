from pathlib import Path

BASE = """\
---
id: {id}
title: Sample runbook
severity: high
match:
  detector: cost_burn
  cause: retry_storm
kill_switch:
  flag: assistant.retries
  scope: [tenant]
summary: A runbook used by the tests.
---

## Steps

1. Run `/cost by key 1h` for {{{{ labels.get("tenant", "<tenant>") }}}}.
2. Stop retries with
   `/killswitch kill assistant.retries`.

## Resolve when

- Cost per hour is back to normal.
"""

GENERIC = """\
---
id: generic
title: Anything else
severity: medium
match: {}
priority: -100
summary: Nothing more specific matched.
---

## Steps

1. Run `/alerts`.
"""


def write_runbook(directory: Path, name: str, text: str | None = None) -> Path:
    """Write a runbook file (the valid BASE one unless text is given) and return its path."""
    path = directory / f"{name}.md"
    path.write_text(BASE.format(id=name) if text is None else text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    """The 1-based line holding needle, which must occur on exactly one line."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]
