"""Clopper–Pearson bounds and percentiles against values published or derived by hand."""

from __future__ import annotations

import math

import pytest

from reports.stats import binomial_tail, clopper_pearson_lower, percentile


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [
        (49, 50, 0.909),  # the example
        (29, 29, 0.902),  # 29 of 29: the classic demonstration of PoD >= 0.90 at 95 %
        (0, 10, 0.0),
        (0, 1, 0.0),
    ],
)
def test_the_one_sided_95_lower_bound_of_the_examples(k: int, n: int, expected: float) -> None:
    assert round(clopper_pearson_lower(k, n), 3) == expected


@pytest.mark.parametrize("n", [1, 2, 5, 10, 29, 30, 59, 100, 1000])
def test_all_detected_has_the_closed_form_alpha_to_the_one_over_n(n: int) -> None:
    assert clopper_pearson_lower(n, n) == pytest.approx(0.05 ** (1 / n), abs=1e-12)


@pytest.mark.parametrize("n", [1, 3, 10, 50, 200])
def test_one_detected_has_the_closed_form(n: int) -> None:
    # P(X >= 1) = 1 - (1 - p)^n = 0.05  =>  p = 1 - 0.95^(1/n)
    assert clopper_pearson_lower(1, n) == pytest.approx(1 - 0.95 ** (1 / n), abs=1e-12)


@pytest.mark.parametrize(
    ("k", "n", "lower", "upper"),
    [
        # two-sided 95 % intervals (each side at 97.5 %), as published
        (5, 10, 0.187086, 0.812914),  # the textbook example
        (682, 925, 0.7076683, 0.7654066),  # R's binom.test(682, 925) documentation
    ],
)
def test_two_sided_intervals_published_for_known_cases(
    k: int, n: int, lower: float, upper: float
) -> None:
    assert clopper_pearson_lower(k, n, confidence=0.975) == pytest.approx(lower, abs=1e-6)
    # the upper bound by symmetry: 1 - lower(n - k)
    assert 1 - clopper_pearson_lower(n - k, n, confidence=0.975) == pytest.approx(upper, abs=1e-6)


def test_the_bound_is_where_the_tail_equals_alpha_and_rises_with_k() -> None:
    for n in (4, 29, 50):
        previous = -1.0
        for k in range(1, n + 1):
            lb = clopper_pearson_lower(k, n)
            assert binomial_tail(k, n, lb) == pytest.approx(0.05, abs=1e-9)
            assert lb <= k / n
            assert lb > previous
            previous = lb


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="0 <= k <= n"):
        clopper_pearson_lower(5, 4)


def test_percentiles_interpolate_between_ranks_like_numpy() -> None:
    values = [10.0, 30.0, 45.0, 60.0, 90.0]
    assert percentile(values, 0.5) == 45.0
    assert percentile(values, 0.9) == pytest.approx(78.0)
    assert percentile([60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0], 0.5) == 450.0
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([], 0.5) is None
    assert math.isclose(percentile([0.0, 1.0], 0.9) or 0, 0.9)
