"""Common random numbers: keyed, counter-based draws for accounts and per-agent exploration streams.

Why this module exists
----------------------
Cells (organisation designs) are compared under the same seed. If every later event draws from one
shared process stream, the first time one cell makes a different number of draws every later draw
shifts, and the cells stop sharing luck. Instead, each prospect gets a 64-bit key drawn once from the
market stream (:func:`new_keys`), and every later random event for that account is a pure function of
``(key, event, counter)``::

    u = uniform(keys, Event.WIN, counter=0)      # the same value in every cell, in any call order

so an account meets the same luck in every cell no matter the order, grouping or number of other
draws. Staff agents get their own exploration streams from :func:`agent_rng`, which depend only on the
root seed, the role and the agent's index.

Generator chosen, and why not numpy's
-------------------------------------
numpy (checked on 2.4) has no vectorised per-element counter-based draw: ``np.random.Philox`` takes one
key per bit generator (an array key must have exactly 2 words, i.e. a single key), and
``SeedSequence`` is likewise one object per seed. Drawing per row therefore needs a Python loop:
measured at about 9 us per row for a fresh ``Philox(key=k)`` (~0.9 s per 1e5 rows), 2.5 us per row
when re-setting the state of one Philox, and 6 us per row for ``SeedSequence(k).generate_state``;
two to three orders of magnitude slower than the hash below: 1e5 uniforms in about 0.4-1.4 ms (normal
about 2-3.5 ms, most of it ``ndtri``), measured on a shared 2-core machine, numpy 2.4.

The hash is built from the SplitMix64 output function (Steele, Lea & Flood 2014; the variant-13
finaliser of Stafford 2011), a bijection on 64-bit words with full avalanche. Two rounds::

    state = mix64(key XOR event_salt(event))           # one decorrelated stream start per (key, event)
    bits  = mix64(state + GAMMA * (counter + 1))       # SplitMix64 step ``counter`` of that stream

so for fixed ``(key, event)`` the counters walk an ordinary SplitMix64 sequence (which passes BigCrush),
and different keys or events start at unrelated points of the 2**64 cycle, with
``event_salt(e) = mix64(e * GAMMA + EVENT_DOMAIN)``. Two streams coincide only if random 64-bit keys
happen to differ by a salt difference, or starts lie within a few counter steps of each other: odds of
order ``n_keys**2 * n_events**2 * max_counter / 2**64``, negligible here. Arithmetic is numpy
``uint64`` and wraps modulo 2**64 by design (numpy array ufuncs do not warn on integer wrap-around;
the few scalar constants are computed in Python integers and masked). Not cryptographic, and not meant
to be.

Reproducibility contract
------------------------
The following are part of the contract and must not change without a deliberate, documented break
(results of earlier runs would no longer reproduce):

* the numeric values of :class:`Event` (new events are appended with new values; never renumber or
  reuse a value, even for a removed event);
* the hash above, its constants, and the conversions to uniform / normal / exponential;
* :func:`new_keys` drawing exactly ``n`` uint64 words from the given generator via
  ``rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)``;
* :func:`agent_rng`'s ``SeedSequence`` spawn-key layout.
"""

from __future__ import annotations

import functools
from enum import IntEnum

import numpy as np
from numba import njit
from scipy.special import ndtri

__all__ = [
    "Event",
    "agent_rng",
    "bits",
    "exponential",
    "new_keys",
    "normal",
    "normal_of",
    "uniform",
    "uniform_events",
    "uniform_one",
]

_MASK64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15  # 2**64 / golden ratio, the SplitMix64 increment
_MUL1 = 0xBF58476D1CE4E5B9
_MUL2 = 0x94D049BB133111EB
_EVENT_DOMAIN = 0x616C69676E73696D  # b"alignsim": separates event salts from plain mix64(event)
_AGENT_DOMAIN = 0x61676E74  # b"agnt": separates agent spawn keys from the model's spawned children
_U53 = 2.0**-53  # resolution of uniform(): 53-bit mantissa
_TINY = 2.0**-54  # replaces an exact 0 in the open-interval uniform behind normal()

_G = np.uint64(_GAMMA)
_M1 = np.uint64(_MUL1)
_M2 = np.uint64(_MUL2)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))


class Event(IntEnum):
    """Identifier of a random event; the value salts the hash (part of the reproducibility contract).

    Per-account events take the account's key; the suggested ``counter`` says which occurrence of the
    event it is, so that repeated events of one account get fresh, still cell-independent, draws.
    Model-level events (marked *model*) take a single model key (e.g. ``new_keys(market_rng, 1)`` drawn
    at set-up) with ``counter=week`` (or ``week * n_teams + team``).

    Values are fixed: append new members with new values; never renumber or reuse one.
    """

    MEETING = 1  # SDR touch: does the prospect agree to meet. counter: touch number (usually 0)
    SDR_INTENT_NOISE = 2  # SDR's read of intent, normal. counter: touch number
    SDR_FIT_NOISE = 3  # SDR's read of fit, normal. counter: touch number
    MARKETER_SIGNAL = 4  # marketer's noisy signal of the prospect, normal. counter: 0
    JUNK = 5  # is the lead junk, uniform. counter: 0
    AE_FIT_NOISE = 6  # AE's discovery read of fit, normal. counter: 0
    CYCLE = 7  # sales-cycle length multiplier, uniform. counter: 0
    MULTI_YEAR = 8  # does the multi-year push land, uniform. counter: 0
    WIN = 9  # is the opportunity won, uniform. counter: 0
    CHAMPION = 10  # champion tenure, exponential. counter: champions the customer has lost so far
    CHURN = 11  # churn at a renewal, uniform. counter: renewal number (renewals completed so far)
    INCIDENT_HIT = 12  # is the customer hit by this incident, uniform. counter: week of the incident
    INCIDENT_UNINFORMED = 13  # were the staff it reached uninformed, uniform. counter: week of the incident
    CSM_ASSIGN = 14  # tie-break / choice of CSM, uniform or bits. counter: 0
    ARRIVAL = 15  # arrival time within the week, uniform. counter: 0
    INCIDENT_OCCURS = 16  # *model*: does an incident happen this week, uniform. counter: week
    WORK_ROUNDING = (
        17  # *model*: stochastic rounding of a team's weekly work. counter: week * 4096 + team (+ 2048: lent AE slots)
    )
    EXPANSION = 18  # reserved: stochastic expansion / contraction at a renewal. counter: renewal number


def _mix64_int(z: int) -> int:
    """SplitMix64 finaliser on a Python int (for scalar constants; no numpy scalar overflow warnings)."""
    z &= _MASK64
    z = ((z ^ (z >> 30)) * _MUL1) & _MASK64
    z = ((z ^ (z >> 27)) * _MUL2) & _MASK64
    return z ^ (z >> 31)


def _mix64_inplace(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser applied in place to a uint64 array (wraps modulo 2**64 by design)."""
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


@functools.lru_cache(maxsize=256)
def _event_salt(event: int) -> np.uint64:
    """64-bit salt of an event id (cached: a handful of events, called on every draw)."""
    if isinstance(event, bool) or not isinstance(event, int | np.integer) or not 0 <= int(event) <= _MASK64:
        raise ValueError(f"event must be an integer in [0, 2**64), got {event!r}")
    return np.uint64(_mix64_int(int(event) * _GAMMA + _EVENT_DOMAIN))


def _as_keys(keys: np.ndarray) -> np.ndarray:
    """Keys as a uint64 array; other integer dtypes are reinterpreted modulo 2**64 (floats rejected)."""
    arr = np.asarray(keys)
    if arr.dtype == np.uint64:
        return arr
    if arr.dtype.kind not in "iu":
        raise TypeError(f"keys must be an integer array (uint64), got dtype {arr.dtype}")
    return arr.astype(np.uint64)


def _as_counter(counter: int | np.ndarray) -> np.ndarray | np.uint64:
    """Counter(s) as uint64; must be non-negative integers."""
    if isinstance(counter, int | np.integer) and not isinstance(counter, bool):
        if not 0 <= int(counter) < _MASK64:
            raise ValueError(f"counter must be in [0, 2**64 - 1), got {counter!r}")
        return np.uint64(int(counter))
    arr = np.asarray(counter)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"counter must be a non-negative integer or integer array, got dtype {arr.dtype}")
    if arr.dtype.kind == "i" and arr.size and arr.min() < 0:
        raise ValueError("counter must be non-negative")
    return arr.astype(np.uint64, copy=False)


def new_keys(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` account keys from the market stream.

    Call this once per account, when the account is created (in the market step), and store the key
    in the pool; every later random event of the account is then a function of that key.

    Args:
        rng: the market stream (its draws must not depend on the cell's decisions).
        n: number of keys (accounts), >= 0.

    Returns:
        uint64 array of shape ``(n,)``, uniform over all 2**64 values: exactly the next ``n`` raw 64-bit
        words of the bit generator (no rejection), so the market stream's later draws depend only on ``n``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return rng.integers(0, _MASK64, size=n, dtype=np.uint64, endpoint=True)


def bits(keys: np.ndarray, event: int, counter: int | np.ndarray = 0) -> np.ndarray:
    """Raw 64-bit hash of ``(key, event, counter)``, element-wise.

    Args:
        keys: account keys, uint64 array of any shape (other integer dtypes are reinterpreted as uint64).
        event: event id, usually an :class:`Event` member.
        counter: occurrence number of the event, a non-negative int or an integer array broadcastable
            against ``keys`` (e.g. the renewal number per row).

    Returns:
        uint64 array of the broadcast shape of ``keys`` and ``counter``.
    """
    fast = type(counter) is int and 0 <= counter < _MASK64
    if fast and type(keys) is np.ndarray and keys.dtype == np.uint64 and keys.ndim:
        # the common case (one counter for all keys), without the general path's checks and broadcasting
        c = counter
        z = np.bitwise_xor(keys, _event_salt(event))  # a fresh array: the caller's keys are never modified
    else:
        k = _as_keys(keys)
        c = _as_counter(counter)
        z = np.empty(np.broadcast_shapes(k.shape, np.shape(c)), dtype=np.uint64)
        np.bitwise_xor(k, _event_salt(event), out=z)
    return _step(z, c)


def _step(z: np.ndarray, c: int | np.ndarray) -> np.ndarray:
    """The hash after ``key XOR event_salt``, in place: mix64, then SplitMix64 step ``c`` of that stream."""
    _mix64_inplace(z)
    z += (c + np.uint64(1)) * _G if np.ndim(c) else np.uint64(((int(c) + 1) * _GAMMA) & _MASK64)
    return _mix64_inplace(z)


def _unit(z: np.ndarray) -> np.ndarray:
    """Hash words as uniforms on [0, 1): the top 53 bits times 2**-53 (``z`` is shifted in place)."""
    z >>= _S11
    return z * _U53


def uniform(keys: np.ndarray, event: int, counter: int | np.ndarray = 0) -> np.ndarray:
    """Uniform draws on [0, 1) with 53-bit resolution (multiples of 2**-53), one per key.

    Args:
        keys: account keys (uint64), any shape.
        event: event id, usually an :class:`Event` member.
        counter: occurrence number of the event (int or integer array broadcastable against ``keys``).

    Returns:
        float64 array (dimensionless probability scale) of the broadcast shape of ``keys`` and ``counter``.
        Compare ``uniform(...) < p`` for a Bernoulli(p) event.
    """
    if type(counter) is int and 0 <= counter < _MASK64 and type(keys) is np.ndarray and keys.dtype == np.uint64:
        # the common case, compiled: one pass over the keys, the same words as the numpy path below
        return _uniform_kernel(keys.reshape(-1), _event_salt(event), np.uint64(counter)).reshape(keys.shape)
    c = _as_counter(counter)
    if type(keys) is np.ndarray and keys.dtype == np.uint64 and keys.ndim == 1 and np.shape(c) == keys.shape:
        return _uniform_counters_kernel(keys, _event_salt(event), c)
    return _unit(bits(keys, event, counter))


def uniform_events(keys: np.ndarray, events: tuple[int, ...], counter: int = 0) -> np.ndarray:
    """Several events' uniforms for the same keys in one pass: column ``j`` is ``uniform(keys, events[j], counter)``.

    For a step that draws several events of one set of accounts (an SDR's meeting and its two reads,
    say): the same numbers as one :func:`uniform` call per event, with a third of the per-call cost.

    Args:
        keys: account keys, a 1-d uint64 array.
        events: event ids, usually :class:`Event` members.
        counter: occurrence number, one non-negative int for every key and event.

    Returns:
        float64 array of shape ``(len(keys), len(events))``.
    """
    c = _as_counter(counter)
    if np.ndim(c):
        raise TypeError(f"counter must be one non-negative int here, got an array of shape {np.shape(c)}")
    return _uniform_events_kernel(_as_keys(keys), event_salts(tuple(events)), c)


@functools.lru_cache(maxsize=64)
def event_salts(events: tuple[int, ...]) -> np.ndarray:
    """The salts of ``events`` as one uint64 array (for :func:`uniform_words`; cached, do not modify)."""
    return np.array([_event_salt(e) for e in events], dtype=np.uint64)


def uniform_one(key: np.ndarray | int, event: int, counter: int = 0) -> float:
    """One uniform draw, ``uniform([key], event, counter)[0]``, in Python integers (model-level events, every week).

    Args:
        key: one key (an int, or a one-element uint64 array such as the model's ``world_key``).
        event: event id.
        counter: occurrence number, a non-negative int.
    """
    k = int(np.asarray(key).reshape(-1)[0]) if not isinstance(key, int) else key
    c = int(_as_counter(counter))
    z = _mix64_int(k ^ int(_event_salt(event)))
    z = _mix64_int(z + (c + 1) * _GAMMA)
    return (z >> 11) * _U53


def normal_of(u: np.ndarray) -> np.ndarray:
    """Standard normal draws, ``ndtri`` of uniforms on [0, 1) with an exact 0 (probability 2**-53) read as 2**-54."""
    return ndtri(np.maximum(u, _TINY))


def normal(keys: np.ndarray, event: int, counter: int | np.ndarray = 0) -> np.ndarray:
    """Standard normal draws, ``ndtri`` (inverse normal CDF) of a uniform on the open interval (0, 1).

    Args:
        keys: account keys (uint64), any shape.
        event: event id, usually an :class:`Event` member.
        counter: occurrence number of the event (int or integer array broadcastable against ``keys``).

    Returns:
        float64 array of N(0, 1) draws (unitless; scale by the caller's SD), always finite: within
        about [-8.3, 8.2].
    """
    return normal_of(uniform(keys, event, counter))


def exponential(keys: np.ndarray, event: int, counter: int | np.ndarray = 0) -> np.ndarray:
    """Standard exponential draws (rate 1, mean 1), ``-log1p(-u)`` of a uniform on [0, 1).

    Args:
        keys: account keys (uint64), any shape.
        event: event id, usually an :class:`Event` member.
        counter: occurrence number of the event (int or integer array broadcastable against ``keys``).

    Returns:
        float64 array of Exp(1) draws, finite and >= 0 (at most about 36.7); multiply by a mean
        (e.g. weeks) for other scales.
    """
    return -np.log1p(-uniform(keys, event, counter))


def _role_code(role: str) -> tuple[int, int]:
    """Injective, process-independent code of a role name: (UTF-8 byte length, bytes as a little-endian int).

    Python's ``hash(str)`` is salted per process, so it cannot be used.
    """
    if not isinstance(role, str) or not role:
        raise ValueError(f"role must be a non-empty string, got {role!r}")
    raw = role.encode("utf-8")
    return len(raw), int.from_bytes(raw, "little")


def agent_rng(root_seed: int | None, role: str, index: int) -> np.random.Generator:
    """Exploration stream of staff agent ``(role, index)``: the same in every cell under one root seed.

    The stream is ``default_rng(SeedSequence(entropy=root_seed, spawn_key=(AGENT_DOMAIN, len(b),
    int(b), index)))`` with ``b`` the UTF-8 bytes of ``role`` read as a little-endian integer and
    ``AGENT_DOMAIN = 0x61676E74``. It depends only on ``(root_seed, role, index)``: not on how many
    agents exist, in which order they are created, or what any other stream has drawn, so an agent
    present in two cells explores with identical draws in both. The spawn key is disjoint from the
    model's ``SeedSequence(seed).spawn(k)`` children (one-element keys ``(0,)`` ... ``(k-1,)``) and, since
    the role encoding is injective, from every other agent's.

    Args:
        root_seed: the model's root seed (non-negative int). ``None`` takes fresh OS entropy on every
            call, so streams are then neither reproducible nor shared across cells.
        role: short role name, e.g. ``"sdr"``; case- and spelling-sensitive.
        index: the agent's position within its role (its owner id), >= 0.

    Returns:
        A new ``np.random.Generator`` (PCG64) positioned at the start of the agent's stream.
    """
    if isinstance(index, bool) or not isinstance(index, int | np.integer) or index < 0:
        raise ValueError(f"index must be a non-negative integer, got {index!r}")
    length, code = _role_code(role)
    seq = np.random.SeedSequence(entropy=root_seed, spawn_key=(_AGENT_DOMAIN, length, code, int(index)))
    return np.random.default_rng(seq)


_PLACEBO_DOMAIN = 0x706C6362  # b"plcb": separates placebo spawn keys from agents' and the model's
_PART_CODE = {"siloed": 0, "shared": 1}


def placebo_reward(root_seed: int | None, role: str, part: str, start_week: int, n: int) -> np.ndarray:
    """A placebo reward: ``n`` standard normal draws for reward part ``part`` of the trial begun at ``start_week``.

    What ``learning="placebo"`` pays instead of the KPI (issue 10: the same learning schedule paid
    noise). The draws depend only on ``(root_seed, role, part, start_week)`` and agent ``i`` always
    gets element ``i``, so a placebo run is reproducible and the same agents get the same noise in
    every cell.
    """
    length, code = _role_code(role)
    key = (_PLACEBO_DOMAIN, length, code, _PART_CODE[part], int(start_week))
    return np.random.default_rng(np.random.SeedSequence(entropy=root_seed, spawn_key=key)).standard_normal(n)


# --- compiled hash (numba): the same uint64 words as the numpy path, in one pass ------------------
_U64_30, _U64_27, _U64_31, _U64_11, _U64_1, _U64_0 = (np.uint64(s) for s in (30, 27, 31, 11, 1, 0))


@njit(cache=True, inline="always")
def _mix64_word(z: np.uint64) -> np.uint64:
    z ^= z >> _U64_30
    z *= _M1
    z ^= z >> _U64_27
    z *= _M2
    return z ^ (z >> _U64_31)


@njit(cache=True, inline="always")
def _uniform_word(key: np.uint64, salt: np.uint64, step: np.uint64) -> float:
    z = _mix64_word(_mix64_word(key ^ salt) + step)
    return np.float64(z >> _U64_11) * _U53


@njit(cache=True)
def _uniform_kernel(keys: np.ndarray, salt: np.uint64, counter: np.uint64) -> np.ndarray:
    out = np.empty(keys.shape[0])
    step = (counter + _U64_1) * _G
    for i in range(keys.shape[0]):
        out[i] = _uniform_word(keys[i], salt, step)
    return out


@njit(cache=True)
def _uniform_counters_kernel(keys: np.ndarray, salt: np.uint64, counters: np.ndarray) -> np.ndarray:
    out = np.empty(keys.shape[0])
    for i in range(keys.shape[0]):
        out[i] = _uniform_word(keys[i], salt, (counters[i] + _U64_1) * _G)
    return out


@njit(cache=True)
def uniform_words(keys: np.ndarray, salts: np.ndarray) -> np.ndarray:
    """Compiled :func:`uniform_events` at counter 0 for use inside kernels: column ``j`` for salt ``salts[j]``."""
    return _uniform_events_kernel(keys, salts, _U64_0)


@njit(cache=True)
def _uniform_events_kernel(keys: np.ndarray, salts: np.ndarray, counter: np.uint64) -> np.ndarray:
    out = np.empty((keys.shape[0], salts.shape[0]))
    step = (counter + _U64_1) * _G
    for i in range(keys.shape[0]):
        for j in range(salts.shape[0]):
            out[i, j] = _uniform_word(keys[i], salts[j], step)
    return out
