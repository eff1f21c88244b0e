from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from storage import histogram

latencies = st.lists(
    st.one_of(
        st.floats(min_value=0.5, max_value=600_000, allow_nan=False),
        st.floats(min_value=50, max_value=5000, allow_nan=False),
    ),
    min_size=1,
    max_size=2000,
)


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.floor(q * (len(ordered) - 1))]


@settings(max_examples=200, deadline=None)
@given(latencies, st.sampled_from([0.5, 0.9, 0.95, 0.99, 0.999]))
def test_percentiles_within_one_percent_of_exact(values: list[float], q: float) -> None:
    estimate = histogram.quantile(histogram.from_values(values), q)
    truth = exact(values, q)
    assert estimate is not None
    assert abs(estimate - truth) <= 0.01 * truth


@settings(max_examples=100, deadline=None)
@given(latencies, latencies)
def test_merging_equals_building_from_all_values(a: list[float], b: list[float]) -> None:
    merged = histogram.merge(histogram.from_values(a), histogram.from_values(b))
    assert merged == histogram.from_values(a + b)
    assert (
        histogram.decode(
            histogram.merge_encoded(
                histogram.encode(histogram.from_values(a)), histogram.encode(histogram.from_values(b))
            )
        )
        == merged
    )


def test_zero_latency_and_empty() -> None:
    assert histogram.quantile({}, 0.5) is None
    assert histogram.quantile(histogram.from_values([0.0, 0.0, 10.0]), 0.5) == 0.0
    assert histogram.merge_encoded(None, "{}") == "{}"
