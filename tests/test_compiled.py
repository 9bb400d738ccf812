"""The compiled kernels give numpy's numbers bit for bit (model/compiled.py; issue 9's speed).

Every stored result reproduces only if a kernel adds, rounds and selects exactly as the numpy
expression it replaced. These tests compare each building block against numpy on random and edge
inputs, with exact equality (no tolerance): one bit off fails.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from alignsim.model import draws
from alignsim.model.compiled import pairwise_sum
from alignsim.model.pools import AccountPool, State, rows_before

FINITE = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.integers(0, 700), elements=FINITE))
def test_pairwise_sum_is_numpys_sum_bit_for_bit(values: np.ndarray) -> None:
    assert pairwise_sum(values) == np.sum(values)


def test_pairwise_sum_of_long_arrays_follows_numpys_halving() -> None:
    """Past 128 values numpy halves the array (at multiples of 8); a sequential sum differs here."""
    rng = np.random.default_rng(5)
    sizes = [129, 136, 255, 256, 1000, 4097, 65_537, 300_001]
    for n in sizes:
        values = rng.standard_normal(n) * rng.exponential(1e6, n)
        assert pairwise_sum(values) == np.sum(values), n
    sequential = np.cumsum(values)[-1]
    assert sequential != np.sum(values)  # the order matters at this size: the test can tell


def test_pairwise_sum_of_signed_zeros_and_empty_is_numpys() -> None:
    for values in (np.array([]), np.array([-0.0]), np.full(9, -0.0), np.full(200, -0.0)):
        total = pairwise_sum(values)
        assert total == np.sum(values) and np.signbit(total) == np.signbit(np.sum(values))


def _numpy_uniform(keys: np.ndarray, event: int, counter: int | np.ndarray) -> np.ndarray:
    return draws._unit(draws.bits(keys, event, counter))


def test_compiled_uniforms_are_the_numpy_hash_bit_for_bit() -> None:
    rng = np.random.default_rng(11)
    keys = rng.integers(0, 2**64 - 1, size=2_000, dtype=np.uint64, endpoint=True)
    counters = rng.integers(0, 40, size=keys.size)
    for event in (draws.Event.WIN, draws.Event.CHURN, draws.Event.CHAMPION):
        for counter in (0, 3, 2**40):
            assert np.array_equal(draws.uniform(keys, event, counter), _numpy_uniform(keys, event, counter))
        assert np.array_equal(draws.uniform(keys, event, counters), _numpy_uniform(keys, event, counters))
    events = (draws.Event.AE_FIT_NOISE, draws.Event.CYCLE, draws.Event.MULTI_YEAR)
    both = draws.uniform_events(keys, events, 7)
    for j, event in enumerate(events):
        assert np.array_equal(both[:, j], _numpy_uniform(keys, event, 7))
    assert np.array_equal(draws.uniform_words(keys, draws.event_salts(events)), draws.uniform_events(keys, events))


def test_row_selections_equal_numpys() -> None:
    rng = np.random.default_rng(2)
    pool = AccountPool(capacity=64)
    n = 5_000
    pool.add(n, state=rng.integers(0, len(State), n), ready_week=rng.uniform(0, 10, n))
    pool.ready_week[rng.integers(0, n, 50)] = np.nan  # NaN compares False, as in numpy
    rows = np.arange(n)
    for state in State:
        assert np.array_equal(pool.where(state), np.flatnonzero(pool.state[:n] == int(state)))
    for week in (0, 3, 5.5, 11):
        assert np.array_equal(rows_before(rows, pool.ready_week, week), rows[pool.ready_week[rows] < week])
    assert rows_before(rows[:0], pool.ready_week, 3).size == 0
