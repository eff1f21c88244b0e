"""Wilson intervals against published hand-computed values, and the divergence rule on hand-made rows."""

from __future__ import annotations

import pytest

from bot.evals.divergence import IntentRow
from bot.evals.stats import Rate, disjoint_below, wilson


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        (9, 10, 0.5958, 0.9821),  # p = .9: the textbook small-sample case
        (5, 10, 0.2366, 0.7634),
        (0, 10, 0.0, 0.2775),  # zero successes still gets an honest upper bound
        (10, 10, 0.7225, 1.0),
        (46, 50, 0.8117, 0.9685),
        (55, 100, 0.4524, 0.6439),
    ],
)
def test_wilson_matches_hand_computed_values(k: int, n: int, lo: float, hi: float) -> None:
    got = wilson(k, n)
    assert got == pytest.approx((lo, hi), abs=1e-4)


def test_wilson_of_nothing_is_the_whole_range_and_bad_counts_are_refused() -> None:
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="successes"):
        wilson(11, 10)


def _row(offline: tuple[int, int], labels: tuple[int, int] = (0, 0), feedback: tuple[int, int] = (0, 0)) -> IntentRow:
    return IntentRow(
        intent="billing",
        offline=Rate(*offline),
        labels=Rate(*labels),
        feedback=Rate(*feedback),
        requests=1000,
        min_count=30,
        max_gap=15.0,
    )


def test_a_wide_gap_with_separate_intervals_diverges() -> None:
    row = _row(offline=(46, 50), feedback=(55, 100))
    assert row.production == ("feedback", Rate(55, 100))
    assert row.gap_points == pytest.approx(37.0)
    assert disjoint_below(Rate(55, 100), Rate(46, 50))
    assert row.diverges


def test_thin_data_never_diverges() -> None:
    assert _row(offline=(46, 50), feedback=(0, 29)).production is None
    assert not _row(offline=(46, 50), feedback=(0, 29)).diverges
    assert not _row(offline=(46, 50), labels=(0, 29), feedback=(10, 29)).diverges


def test_overlapping_intervals_do_not_diverge_even_past_the_gap() -> None:
    row = _row(offline=(9, 10), feedback=(40, 60))  # 90% vs 66.7%: 23 points, but 10 cases say little
    assert row.gap_points == pytest.approx(23.33, abs=0.01)
    assert wilson(40, 60)[1] > wilson(9, 10)[0]
    assert not row.diverges


def test_labels_take_precedence_over_feedback_once_there_are_enough() -> None:
    row = _row(offline=(46, 50), labels=(27, 30), feedback=(50, 100))
    assert row.production == ("labels", Rate(27, 30))
    assert not row.diverges
    assert _row(offline=(46, 50), labels=(27, 29), feedback=(50, 100)).diverges  # 29 labels: feedback decides


def test_a_small_gap_does_not_diverge_however_sure() -> None:
    assert not _row(offline=(9500, 10000), feedback=(8200, 10000)).diverges  # 13 points, intervals apart
