"""Keyed counter-based draws (common random numbers) and per-agent exploration streams.

Tolerances: every statistical check uses a fixed seed, so the tests are deterministic; the bounds are
set where a correct generator would fail only rarely over seeds, so a failure means a real defect.
Means and variances are checked within 4 standard errors (SE from the known distribution and n;
two-sided tail ~6e-5), correlations within 4 / sqrt(n) (the SE of a sample correlation of independent
variables is ~1 / sqrt(n)), and KS tests at p > 1e-3.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import stats

from alignsim.model import draws
from alignsim.model.draws import Event, agent_rng, bits, exponential, new_keys, normal, uniform

N = 100_000
MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def _mix(z: int) -> int:
    """Reference SplitMix64 finaliser in plain Python integers."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def _reference_bits(key: int, event: int, counter: int) -> int:
    """The documented hash, one element at a time."""
    salt = _mix((event * GAMMA + 0x616C69676E73696D) & MASK)
    state = _mix(key ^ salt)
    return _mix((state + GAMMA * (counter + 1)) & MASK)


@pytest.fixture(scope="module")
def keys() -> np.ndarray:
    return new_keys(np.random.default_rng(20240611), N)


def _within_se(sample: np.ndarray, mean: float, var: float, fourth_central: float) -> None:
    """Sample mean within 4 SE of ``mean`` and sample variance within 4 SE of ``var``.

    SE(mean) = sqrt(var / n); SE(sample variance) ~ sqrt((mu4 - var**2) / n).
    """
    n = sample.size
    assert abs(sample.mean() - mean) < 4 * np.sqrt(var / n)
    assert abs(sample.var() - var) < 4 * np.sqrt((fourth_central - var**2) / n)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


# --- the contract: pinned algorithm and values --------------------------------------------------


def test_splitmix64_reference_vector() -> None:
    """The finaliser is SplitMix64's: its published first outputs from seed 1234567."""
    state, out = 1234567, []
    for _ in range(3):
        state = (state + GAMMA) & MASK
        out.append(_mix(state))
    assert out == [6457827717110365317, 3203168211198807973, 9817491932198370423]
    assert draws._mix64_int(1234567 + GAMMA) == 6457827717110365317


def test_bits_match_scalar_reference() -> None:
    ks = [0, 1, 2, 2**32, 2**63, MASK, 0x0123456789ABCDEF]
    arr = np.array(ks, dtype=np.uint64)
    for event in (0, Event.MEETING, Event.CHURN, 1000):
        for counter in (0, 1, 7, 2**40):
            got = bits(arr, event, counter)
            assert got.dtype == np.uint64
            assert [int(x) for x in got] == [_reference_bits(k, int(event), counter) for k in ks]


def test_pinned_values() -> None:
    """Golden values: a change here breaks reproducibility of earlier runs."""
    k = np.array([0, 1, 2**63, MASK], dtype=np.uint64)
    assert [int(x) for x in bits(k, Event.WIN, 3)] == [
        11129129358043924053,
        3746656829830713508,
        10005631877290946221,
        2519452743568558237,
    ]
    assert agent_rng(12345, "sdr", 3).integers(0, 2**63, 3).tolist() == [
        398776402144532024,
        4594278934771619366,
        3734282623236022258,
    ]


def test_event_values_are_stable() -> None:
    expected = {
        "MEETING": 1,
        "SDR_INTENT_NOISE": 2,
        "SDR_FIT_NOISE": 3,
        "MARKETER_SIGNAL": 4,
        "JUNK": 5,
        "AE_FIT_NOISE": 6,
        "CYCLE": 7,
        "MULTI_YEAR": 8,
        "WIN": 9,
        "CHAMPION": 10,
        "CHURN": 11,
        "INCIDENT_HIT": 12,
        "INCIDENT_UNINFORMED": 13,
        "CSM_ASSIGN": 14,
        "ARRIVAL": 15,
        "INCIDENT_OCCURS": 16,
        "WORK_ROUNDING": 17,
        "EXPANSION": 18,
    }
    assert {e.name: e.value for e in Event} == expected  # values unique: IntEnum would alias duplicates


# --- determinism and order independence --------------------------------------------------------


def test_same_inputs_same_bits(keys: np.ndarray) -> None:
    before = keys.copy()
    a = uniform(keys, Event.WIN, 2)
    b = uniform(keys, Event.WIN, 2)
    assert np.array_equal(a.view(np.uint64), b.view(np.uint64))
    assert np.array_equal(keys, before)  # keys are never modified in place


def test_subset_and_order_independent(keys: np.ndarray) -> None:
    full = uniform(keys[:10], Event.CHURN, 4)
    picked = uniform(keys[[3, 1]], Event.CHURN, 4)
    assert np.array_equal(picked, full[[3, 1]])
    perm = np.random.default_rng(1).permutation(N)
    for fn in (bits, uniform, normal, exponential):
        assert np.array_equal(fn(keys[perm], Event.AE_FIT_NOISE), fn(keys, Event.AE_FIT_NOISE)[perm])
    # a 0-d key gives the same value as the same key inside an array
    assert uniform(keys[5], Event.CHURN, 4) == full[5]


def test_other_draws_do_not_shift_a_row(keys: np.ndarray) -> None:
    """What cells do differently (extra events, extra rows, other counters) never moves a row's draw."""
    target = uniform(keys[:100], Event.WIN)
    for event in Event:
        uniform(keys, event, 9)
    assert np.array_equal(uniform(keys[:100], Event.WIN), target)


def test_array_counter_matches_scalar_counter(keys: np.ndarray) -> None:
    k = keys[:50]
    counters = np.arange(50) % 7
    per_row = uniform(k, Event.CHURN, counters)
    one_by_one = np.array([uniform(k[i : i + 1], Event.CHURN, int(c))[0] for i, c in enumerate(counters)])
    assert np.array_equal(per_row, one_by_one)
    grid = uniform(k[:, None], Event.CHAMPION, np.arange(5)[None, :])  # broadcasting: rows x weeks
    assert grid.shape == (50, 5)
    assert np.array_equal(grid[:, 3], uniform(k, Event.CHAMPION, 3))


def test_fused_and_scalar_draws_equal_the_one_event_draws(keys: np.ndarray) -> None:
    """uniform_events, uniform_one and normal_of are shortcuts: the same numbers bit for bit, or a cell's luck moves."""
    events = (Event.SDR_INTENT_NOISE, Event.SDR_FIT_NOISE, Event.MEETING)
    for k, counter in ((keys[:300], 0), (keys[:7], 5), (keys[:0], 2**40)):
        u = draws.uniform_events(k, events, counter)
        assert u.shape == (len(k), len(events))
        for j, event in enumerate(events):
            assert np.array_equal(u[:, j], uniform(k, event, counter))
            assert np.array_equal(draws.normal_of(u[:, j]), normal(k, event, counter))
    for i in range(20):
        for key in (keys[i : i + 1], int(keys[i])):
            assert (
                draws.uniform_one(key, Event.WORK_ROUNDING, 7 * 4096 + i)
                == uniform(keys[i : i + 1], Event.WORK_ROUNDING, 7 * 4096 + i)[0]
            )
    with pytest.raises(TypeError, match="counter"):
        draws.uniform_events(keys[:3], events, np.arange(3))


def test_new_keys_reproducible_and_distinct() -> None:
    a = new_keys(np.random.default_rng(7), N)
    b = new_keys(np.random.default_rng(7), N)
    assert a.dtype == np.uint64 and a.shape == (N,)
    assert np.array_equal(a, b)
    assert np.array_equal(a, np.random.default_rng(7).bit_generator.random_raw(N))  # raw words, no rejection
    assert np.unique(a).size == N  # 64-bit birthday collision odds at 1e5 keys ~ 3e-10
    assert new_keys(np.random.default_rng(7), 0).shape == (0,)


# --- distributions ------------------------------------------------------------------------------


def test_uniform_distribution(keys: np.ndarray) -> None:
    u = uniform(keys, Event.WIN)
    assert u.dtype == np.float64 and u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    _within_se(u, 0.5, 1 / 12, 1 / 80)  # U(0,1): var 1/12, fourth central moment 1/80
    scaled = u * 2.0**53  # 53-bit resolution: exact multiples of 2**-53, low bits in use
    assert np.array_equal(scaled, np.floor(scaled))
    assert 0.4 < np.mean(scaled % 2) < 0.6


def test_uniform_with_low_entropy_keys() -> None:
    """Sequential keys 0..n-1 (worst case) still give uniform, uncorrelated draws."""
    k = np.arange(N, dtype=np.uint64)
    u = uniform(k, Event.MEETING)
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert abs(_corr(u[:-1], u[1:])) < 4 / np.sqrt(N - 1)


def test_normal_distribution(keys: np.ndarray) -> None:
    z = normal(keys, Event.SDR_FIT_NOISE)
    assert np.isfinite(z).all()
    assert stats.kstest(z, "norm").pvalue > 1e-3
    _within_se(z, 0.0, 1.0, 3.0)


def test_normal_never_infinite_at_extremes() -> None:
    """The open-interval uniform keeps ndtri finite even at u = 0 exactly."""
    assert np.isfinite(draws.ndtri(np.maximum(np.array([0.0, 1 - 2.0**-53]), draws._TINY))).all()


def test_exponential_distribution(keys: np.ndarray) -> None:
    x = exponential(keys, Event.CYCLE)
    assert np.isfinite(x).all() and x.min() >= 0.0
    assert stats.kstest(x, "expon").pvalue > 1e-3
    _within_se(x, 1.0, 1.0, 9.0)  # Exp(1): var 1, fourth central moment 9


# --- independence -------------------------------------------------------------------------------


def test_independent_across_events(keys: np.ndarray) -> None:
    bound = 4 / np.sqrt(N)
    us = {e: uniform(keys, e) for e in Event}
    events = list(Event)
    for a, b in zip(events, events[1:] + events[:1], strict=True):
        assert abs(_corr(us[a], us[b])) < bound, (a, b)
    assert abs(_corr(normal(keys, Event.SDR_INTENT_NOISE), normal(keys, Event.SDR_FIT_NOISE))) < bound


def test_independent_across_counters(keys: np.ndarray) -> None:
    bound = 4 / np.sqrt(N)
    u0, u1, u2 = (uniform(keys, Event.CHURN, c) for c in (0, 1, 2))
    assert abs(_corr(u0, u1)) < bound
    assert abs(_corr(u1, u2)) < bound
    assert abs(_corr(u0, u2)) < bound


def test_different_keys_different_streams(keys: np.ndarray) -> None:
    counters = np.arange(N)
    a = bits(keys[0], Event.CHAMPION, counters)
    b = bits(keys[1], Event.CHAMPION, counters)
    assert np.intersect1d(a, b).size == 0
    assert abs(_corr(uniform(keys[0], Event.CHAMPION, counters), uniform(keys[1], Event.CHAMPION, counters))) < (
        4 / np.sqrt(N)
    )
    assert stats.kstest(uniform(keys[0], Event.CHAMPION, counters), "uniform").pvalue > 1e-3
    assert np.unique(bits(keys, Event.WIN)).size == N


# --- per-agent exploration streams ------------------------------------------------------------


def test_agent_rng_independent_of_other_agents() -> None:
    alone = agent_rng(42, "sdr", 3).random(1000)
    roster = {(role, i): agent_rng(42, role, i) for role in ("marketer", "sdr", "ae", "csm") for i in range(20)}
    for rng in roster.values():
        rng.random(17)  # other agents drawing does not matter either
    assert np.array_equal(agent_rng(42, "sdr", 3).random(1000), alone)


def test_agent_rng_distinct_streams() -> None:
    base = agent_rng(42, "sdr", 3).random(N)
    bound = 4 / np.sqrt(N)
    for other in (agent_rng(42, "sdr", 4), agent_rng(42, "ae", 3), agent_rng(43, "sdr", 3)):
        x = other.random(N)
        assert not np.array_equal(x, base)
        assert abs(_corr(x, base)) < bound
    # disjoint from the model's own SeedSequence(seed).spawn(3) streams
    for child in np.random.SeedSequence(42).spawn(3):
        assert not np.array_equal(np.random.default_rng(child).random(N), base)


def test_agent_rng_role_code_is_injective() -> None:
    first = {agent_rng(1, role, 0).integers(0, 2**63) for role in ("ab", "ab\x00", "\x00ab", "a", "b", "sdr")}
    assert len(first) == 6


def test_agent_rng_without_seed_is_fresh() -> None:
    assert agent_rng(None, "sdr", 3).integers(0, 2**63) != agent_rng(None, "sdr", 3).integers(0, 2**63)


# --- input validation ---------------------------------------------------------------------------


def test_rejects_bad_inputs(keys: np.ndarray) -> None:
    with pytest.raises(ValueError):
        uniform(keys[:3], Event.WIN, -1)
    with pytest.raises(ValueError):
        uniform(keys[:3], Event.WIN, np.array([0, -1, 2]))
    with pytest.raises(TypeError):
        uniform(np.array([0.5, 1.5]), Event.WIN)
    with pytest.raises(ValueError):
        uniform(keys[:3], -1)
    with pytest.raises(ValueError):
        new_keys(np.random.default_rng(0), -1)
    with pytest.raises(ValueError):
        agent_rng(0, "", 1)
    with pytest.raises(ValueError):
        agent_rng(0, "sdr", -1)


# --- speed --------------------------------------------------------------------------------------


def test_speed_1e5_uniforms(keys: np.ndarray) -> None:
    """Target well under 10 ms per 1e5 uniforms (about 1 ms measured); assert a loose 50 ms against CI noise."""
    uniform(keys, Event.WIN)  # warm-up
    best = np.inf
    for _ in range(20):
        start = time.perf_counter()
        uniform(keys, Event.WIN, 1)
        best = min(best, time.perf_counter() - start)
    print(f"\nuniform(): {best * 1e3:.2f} ms per 1e5 draws (best of 20)")
    assert best < 0.050
