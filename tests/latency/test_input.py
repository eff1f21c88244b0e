"""Bad input at the edges: latencies at ingest, budgets in the configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_file_config
from bot.ingest.service import Writer, validate_batch
from tests.ingest.factory import NOW, event

ANYONE = Writer(key_id=None, tenant=None)


@pytest.mark.parametrize(
    ("field", "value"),
    [("latency_ms", -1.0), ("latency_ms", 3_600_001.0), ("ttft_ms", -5.0), ("ttft_ms", 7_200_000.0)],
)
def test_negative_or_absurd_latencies_are_rejected_with_the_field_path(field: str, value: float) -> None:
    good, result = validate_batch([event(**{field: value})], writer=ANYONE, now=NOW)
    assert good == []
    assert [e.field for e in result.errors] == [f"events[0].{field}"]


@pytest.mark.parametrize(("field", "value"), [("latency_ms", 3_600_000.0), ("latency_ms", 0.0), ("ttft_ms", 120.0)])
def test_latencies_up_to_an_hour_are_accepted(field: str, value: float) -> None:
    good, result = validate_batch([event(**{field: value})], writer=ANYONE, now=NOW)
    assert len(good) == 1 and result.errors == []


def _load(tmp_path: Path, text: str):
    path = tmp_path / "afterlaunch.toml"
    path.write_text(text)
    return path, load_file_config(path)


def test_a_valid_latency_section_loads(tmp_path: Path) -> None:
    _, cfg = _load(
        tmp_path,
        """
[latency]
fallback_paths = ["deep_rag"]
[[latency.budgets]]
intent = "billing_question"
p50_ms = 800
p95_ms = 2500
[[latency.budgets]]
intent = "billing_question"
path = "deep_rag"
p99_ms = 9000
""",
    )
    lat = cfg.latency
    assert lat.fallback_share == 0.10 and lat.fallback_paths == ["deep_rag"]
    assert [b.scope for b in lat.budgets] == [
        {"intent": "billing_question"},
        {"intent": "billing_question", "path": "deep_rag"},
    ]


@pytest.mark.parametrize(
    ("budget", "key", "reason"),
    [
        (
            'intent = "billing"\np50_ms = 3000\np95_ms = 2000',
            "latency.budgets.0",
            "p50_ms (3000) is above p95_ms (2000)",
        ),
        ('intent = "billing"\np95_ms = -1', "latency.budgets.0.p95_ms", "greater than 0"),
        ('intent = "billing"', "latency.budgets.0", "at least one of"),
        ('intent = "billing"\np95_ms = 900\np99_ms = 800', "latency.budgets.0", "p95_ms (900) is above p99_ms (800)"),
        ('intent = "billing"\np95_ms = 900\np96_ms = 1', "latency.budgets.0.p96_ms", "Extra inputs"),
    ],
)
def test_bad_budgets_are_refused_at_start_with_file_key_and_reason(
    tmp_path: Path, budget: str, key: str, reason: str
) -> None:
    path = tmp_path / "afterlaunch.toml"
    path.write_text(f"[[latency.budgets]]\n{budget}\n")
    with pytest.raises(ConfigError) as err:
        load_file_config(path)
    msg = str(err.value)
    assert str(path) in msg and key in msg and reason in msg


def test_a_share_outside_0_and_1_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "afterlaunch.toml"
    path.write_text("[latency]\nfallback_share = 10\n")
    with pytest.raises(ConfigError, match=r"latency\.fallback_share"):
        load_file_config(path)
