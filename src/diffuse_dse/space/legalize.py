"""Turn generated vectors into legal, feasible configurations.

Used by the DiffuSE sampler and by the engine, which repairs other samplers' infeasible
proposals. Strategy (documented in ``docs/diffuse-sampler.md``): each row of a generated ``n x d`` array
is decoded to the nearest legal value of every parameter (:meth:`Encoder.decode_arrays`).
Rows that satisfy every parameter constraint are kept as they are. A row that breaks one is
*rejected* and replaced by its nearest design, in Euclidean distance in the encoded space,
among a seeded pool of feasible designs (uniform draws filtered by
:meth:`Space.feasible_mask`). So every proposal is feasible by construction, and since many
candidates are generated per batch, rejected rows still contribute a nearby feasible design.
"""

from __future__ import annotations

import numpy as np

from diffuse_dse.errors import UsageError
from diffuse_dse.space import Encoder, Space


class Legalizer:
    """Decode and repair for one space; the pool is drawn once from ``rng``."""

    def __init__(self, space: Space, encoder: Encoder, rng: np.random.Generator, pool_size: int) -> None:
        self.space = space
        self.encoder = encoder
        pool: dict[str, np.ndarray] | None = None
        tries = 0
        while tries < 8:
            arrays = space.sample_arrays(rng, pool_size)
            mask = space.feasible_mask(arrays)
            kept = {k: v[mask] for k, v in arrays.items()}
            pool = kept if pool is None else {k: np.concatenate([pool[k], kept[k]]) for k in pool}
            tries += 1
            if len(pool[space.parameters[0].name]) >= min(256, pool_size):
                break
        assert pool is not None
        if len(pool[space.parameters[0].name]) == 0:
            raise UsageError(f"No configuration of space '{space.name}' that satisfies its parameter constraints "
                             f"was found in {tries * pool_size} uniform draws. Check the constraints.")
        self.pool = pool
        self.pool_X = encoder.encode_arrays(pool)

    @property
    def pool_size(self) -> int:
        return len(self.pool_X)

    def random(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` encoded feasible designs drawn from the pool (a ``n x d`` array)."""
        return self.pool_X[rng.integers(0, self.pool_size, n)]

    def legalize(self, X: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """Legal feasible designs for a ``n x d`` array.

        Returns:
            the designs as column arrays, their ``n x d`` encoding, and a length-``n`` boolean
            array that is true where a row was repaired from the pool.
        """
        X = np.atleast_2d(np.asarray(X, dtype=float))
        arrays = self.encoder.decode_arrays(X)
        ok = self.space.feasible_mask(arrays)
        bad = np.flatnonzero(~ok)
        if len(bad):
            d2 = (X[bad] ** 2).sum(1)[:, None] - 2 * X[bad] @ self.pool_X.T + (self.pool_X**2).sum(1)[None, :]
            nearest = np.argmin(d2, axis=1)
            for name in arrays:
                col = arrays[name]
                if col.dtype != self.pool[name].dtype:
                    col = col.astype(object)
                col[bad] = self.pool[name][nearest]
                arrays[name] = col
        return arrays, self.encoder.encode_arrays(arrays), ~ok
