"""The market: a weekly stream of prospect accounts with hidden fit, intent and churn propensity.

Drawn from per-block market streams, in a fixed order and number that no policy or headcount
influences, so replicate r sees the same prospects in every structure x KPI cell
(common random numbers). Each prospect also gets a key for its own later luck
(:mod:`alignsim.model.draws`) and a position in the market: the marketers reach the prospects
whose position falls inside their combined reach, so a prospect is reached by the same slice of
the marketing team in every cell that has that reach.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from alignsim.model.draws import new_keys


@dataclass
class Prospects:
    """One week's reachable prospects (columns of equal length).

    Attributes:
        key: 64-bit key of the account's own later draws (common random numbers).
        position: where the prospect sits in the market, in units of the starting marketing team's
            reach: positions in [0, 1) are reachable by the starting team, up to ``market_headroom``.
        fit: hidden ICP fit in (0, 1).
        intent: hidden buying intent in (0, 1).
        theta: hidden annual churn propensity, Beta(churn_alpha, churn_beta) (sBG).
        segment: 0 SMB, 1 mid-market, 2 enterprise.
        signal_noise: standard-normal noise of the marketer's fit signal.
        junk_draw: uniform draw deciding engagement-only (M2) leads.
        arrival: time of arrival inside the week, in weeks [0, 1).
    """

    key: np.ndarray
    position: np.ndarray
    fit: np.ndarray
    intent: np.ndarray
    theta: np.ndarray
    segment: np.ndarray
    signal_noise: np.ndarray
    junk_draw: np.ndarray
    arrival: np.ndarray


#: a drawn chunk's rows: (float columns stacked in Prospects order, key, segment)
_Chunk = tuple[np.ndarray, np.ndarray, np.ndarray]
#: float columns of Prospects before ``segment`` (position, fit, intent, theta); the rest come after it
_N_BEFORE_SEGMENT = 4


def beta_from_mean(mean: float, concentration: float) -> tuple[float, float]:
    """Beta(a, b) parameters with the given mean and a + b = concentration."""
    return mean * concentration, (1.0 - mean) * concentration


def draw_segments(rng: np.random.Generator, n: int, p: dict[str, Any]) -> np.ndarray:
    """Segment of ``n`` accounts: 0 SMB, 1 mid-market, 2 enterprise."""
    u = rng.random(n)
    return np.where(u < p["share_smb"], 0, np.where(u < 1.0 - p["share_enterprise"], 1, 2))


def draw_fit(rng: np.random.Generator, n: int, p: dict[str, Any]) -> np.ndarray:
    """Hidden ICP fit of ``n`` accounts."""
    return rng.beta(*beta_from_mean(p["market_fit_mean"], p["market_fit_concentration"]), n)


class MarketStream:
    """The market cut into blocks of one starting-team reach, each with its own random stream.

    Block b holds ``prospects_per_week`` expected prospects a week at positions in [b, b + 1).
    Whether a block is drawn (it is reached) never shifts the draws of another block, so cells
    whose headcount differs still see the same prospects wherever both reach (common random
    numbers), at a cost proportional to the reach, not to the whole market. A block is drawn a
    quarter (``CHUNK_WEEKS``) at a time, always in whole chunks, so the values do not depend on
    the week in which a cell first reaches it.

    Chunk k of block b is therefore a pure function of the block's stream (the seed) and the market
    parameters. Models built one after the other with the same ``share`` key (the same seed and
    market: a status-quo run and the cells of a replicate) read the first ``SHARED_CHUNKS`` chunks of
    each block from one per-process store instead of drawing them again; a model that goes further
    continues from a copy of the stored stream's state, so its draws are the ones it would have made.

    Args:
        rngs: one generator per block (``market_headroom`` of them).
        p: parameters.
        share: hashable key of the seed and every market parameter (see :func:`share_key`), or None
            to draw everything afresh.
    """

    CHUNK_WEEKS = 13
    #: chunks per block kept for the next model with the same key (260 weeks; at most a few tens of MB)
    SHARED_CHUNKS = 20

    def __init__(self, rngs: list[np.random.Generator], p: dict[str, Any], share: Any = None) -> None:
        self.rngs = rngs
        self.p = p
        self._share = share  # the store is looked up per chunk, never held: a finished model keeps no chunks alive
        self._current: dict[int, tuple[int, list[int], _Chunk]] = {}  # block -> (chunk, week offsets, rows)
        self._private: dict[int, list[Any]] = {}  # block -> [next chunk to draw, generator]

    def week(self, week: int, reach: float) -> Prospects:
        """Prospects of ``week`` in the blocks that ``reach`` (in starting-team reaches) covers."""
        parts = [self._block_week(b, week) for b in range(len(self.rngs)) if b < reach]
        if not parts:
            parts = [self._block_week(0, week)]
        floats, keys, segments = zip(*parts, strict=True)
        # three joins (the float columns as one array) instead of one per column: the week's rows are copied once
        joined = np.concatenate(floats, axis=1)
        return Prospects(
            np.concatenate(keys), *joined[:_N_BEFORE_SEGMENT], np.concatenate(segments), *joined[_N_BEFORE_SEGMENT:]
        )

    def _block_week(self, block: int, week: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        chunk = week // self.CHUNK_WEEKS
        current = self._current.get(block)
        if current is None or current[0] != chunk:
            current = (chunk, *self._chunk(block, chunk))
            self._current[block] = current
        _, offsets, (floats, keys, segments) = current
        # a chunk's rows are in week order (np.repeat): the week is a slice (week() copies it)
        lo, hi = offsets[week % self.CHUNK_WEEKS], offsets[week % self.CHUNK_WEEKS + 1]
        return floats[:, lo:hi], keys[lo:hi], segments[lo:hi]

    def _chunk(self, block: int, chunk: int) -> tuple[list[int], _Chunk]:
        """Chunk ``chunk`` of ``block``; chunks are asked for in increasing order (every chunk drawn in turn)."""
        if block not in self._private:
            if self._share is None:
                self._private[block] = [0, self.rngs[block]]
            else:
                # models of one key may run in threads of one process (a threaded Dask worker): one at a time.
                # If another key replaced this model's store meanwhile, a new one is drawn from the start:
                # chunk k is the same whichever store (or private stream) it comes from
                with _LOCK:
                    rng, stored = _shared_blocks(self._share, self.rngs)[block]
                    while len(stored) <= chunk and len(stored) < self.SHARED_CHUNKS:
                        stored.append(self._draw_chunk(rng, block))
                    if chunk < len(stored):
                        return stored[chunk]
                    # past the stored chunks: go on from a copy of the stored stream (the store's stays put)
                    self._private[block] = [len(stored), _copy(rng)]
        state = self._private[block]
        if chunk < state[0]:
            raise RuntimeError(f"market block {block}: chunk {chunk} asked for after chunk {state[0] - 1}")
        while state[0] <= chunk:  # draw every chunk in turn: the stream stays aligned
            drawn = self._draw_chunk(state[1], block)
            state[0] += 1
        return drawn

    def _draw_chunk(self, rng: np.random.Generator, block: int) -> tuple[list[int], _Chunk]:
        """The next chunk of ``rng`` (block ``block``'s stream): offsets of each week's rows, and the rows.

        The rows are kept as (the float columns stacked in :class:`Prospects` order, keys, segments), so a
        week's rows of several blocks are joined by three concatenations. The draws are made column by
        column in :class:`Prospects` order, as always: the stream is unchanged.
        """
        p = self.p
        counts = rng.poisson(p["prospects_per_week"], self.CHUNK_WEEKS)
        n = int(counts.sum())
        offsets = np.concatenate(([0], np.cumsum(counts))).tolist()
        keys = new_keys(rng, n)
        position = block + rng.random(n)
        fit = draw_fit(rng, n, p)
        intent = rng.beta(*beta_from_mean(p["intent_mean"], 4.0), n)
        theta = rng.beta(p["churn_alpha"], p["churn_beta"], n)
        segments = draw_segments(rng, n, p)
        signal_noise = rng.standard_normal(n)
        junk_draw = rng.random(n)
        arrival = rng.random(n)
        floats = np.stack((position, fit, intent, theta, signal_noise, junk_draw, arrival))
        return offsets, (floats, keys, segments)


#: parameters that never reach the market draws (a cell's design and horizon): models that differ only
#: in these share the stored market chunks; any other parameter is part of the key, to be safe
_NOT_MARKET = frozenset({"structure", "kpi", "learning", "start_policy", "weeks", "adaptive", "shared_kpi_weight"})
_STORE: dict[Any, list[tuple[np.random.Generator, list[Any]]]] = {}
_LOCK = threading.Lock()


def share_key(seed: int | None, p: dict[str, Any]) -> Any:
    """Key under which models share market chunks: the seed and every parameter that may reach the market
    (None, no sharing, without a seed)."""
    if seed is None:
        return None
    return (int(seed), repr(sorted((k, v) for k, v in p.items() if k not in _NOT_MARKET)))


def _shared_blocks(share: Any, rngs: list[np.random.Generator]) -> list[tuple[np.random.Generator, list[Any]]]:
    """The per-process store of ``share``'s blocks: (the block's stream after the stored chunks, the chunks).

    One key at a time (a new key drops the previous one): the models that share are built one after
    the other (a status-quo run inside its cell, a replicate's cells in one worker). A new store draws
    from copies of ``rngs`` (unused streams at their start), so the model's own streams stay untouched.
    Call with ``_LOCK`` held.
    """
    if share not in _STORE:
        _STORE.clear()
        _STORE[share] = [(_copy(rng), []) for rng in rngs]
    return _STORE[share]


def _copy(rng: np.random.Generator) -> np.random.Generator:
    """An independent generator at the same position as ``rng``."""
    copy = np.random.Generator(type(rng.bit_generator)())
    copy.bit_generator.state = rng.bit_generator.state
    return copy


def segment_values(p: dict[str, Any], key: str) -> np.ndarray:
    """Per-segment parameter, e.g. ``segment_values(p, "acv")`` -> list ACV by segment."""
    names = {
        "acv": ("acv_smb_usd", "acv_mm_usd", "acv_ent_usd"),
        "cycle": ("cycle_smb_weeks", "cycle_mm_weeks", "cycle_ent_weeks"),
    }[key]
    return np.array([p[n] for n in names], dtype=float)
