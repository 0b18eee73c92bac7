"""Map configurations to and from points of ``[-1, 1]^d`` for models that work on vectors.

* int, pow2 and ordinal parameters: the index ``i`` of the value among ``n`` choices becomes
  ``2 i / (n - 1) - 1`` (0 when ``n == 1``).
* float parameters: ``2 (v - low) / (high - low) - 1``, on ``log v`` when the scale is log.
* categorical parameters: one-hot, with ``+1`` for the chosen value and ``-1`` elsewhere.

Decoding rounds each coordinate to the nearest legal value (the largest coordinate wins for a
categorical block). It does not repair parameter constraints: callers that need feasible
configurations filter with :meth:`~diffuse_dse.space.Space.feasible_mask`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from diffuse_dse.space.parameter import Parameter, Value
from diffuse_dse.space.space import Config, Space


class Encoder:
    """The vector encoding of one space.

    Attributes:
        space: The space encoded.
        dim: The length ``d`` of an encoded vector.
        slices: For each parameter, the columns that encode it.
    """

    def __init__(self, space: Space) -> None:
        self.space = space
        self.slices: dict[str, slice] = {}
        start = 0
        for p in space.parameters:
            width = len(p.choices) if p.kind == "categorical" else 1
            self.slices[p.name] = slice(start, start + width)
            start += width
        self.dim = start

    def encode(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """A ``n x d`` array for ``n`` configurations of legal values."""
        out = np.empty((len(configs), self.dim))
        for p in self.space.parameters:
            cols = self.slices[p.name]
            values = [c[p.name] for c in configs]
            out[:, cols] = _encode_param(p, values)
        return out

    def encode_arrays(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        """Like :meth:`encode`, for column arrays of real values keyed by name."""
        n = len(next(iter(arrays.values())))
        out = np.empty((n, self.dim))
        for p in self.space.parameters:
            out[:, self.slices[p.name]] = _encode_param(p, list(arrays[p.name]))
        return out

    def decode_arrays(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Nearest legal values for each row of a ``n x d`` array, as column arrays."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        out: dict[str, np.ndarray] = {}
        for p in self.space.parameters:
            block = x[:, self.slices[p.name]]
            if p.kind == "float":
                u = (np.clip(block[:, 0], -1.0, 1.0) + 1.0) / 2.0
                if p.log:
                    out[p.name] = np.exp(math.log(p.low) + u * (math.log(p.high) - math.log(p.low)))
                else:
                    out[p.name] = p.low + u * (p.high - p.low)
                continue
            if p.kind == "categorical":
                idx = np.argmax(block, axis=1)
            else:
                n = len(p.choices)
                idx = np.rint((np.clip(block[:, 0], -1.0, 1.0) + 1.0) / 2.0 * (n - 1)).astype(int)
            out[p.name] = p.values_array(idx)
        return out

    def decode(self, x: np.ndarray) -> list[Config]:
        """Nearest legal configuration for each row of a ``n x d`` array."""
        return list(self.space.rows(self.decode_arrays(x)))


def _encode_param(p: Parameter, values: list[Value]) -> np.ndarray:
    if p.kind == "float":
        v = np.asarray(values, dtype=float)
        if p.log:
            lo, hi, v = math.log(p.low), math.log(p.high), np.log(v)
        else:
            lo, hi = p.low, p.high
        return (2.0 * (v - lo) / (hi - lo) - 1.0)[:, None]
    idx = np.fromiter((p.index_of(v) for v in values), dtype=int, count=len(values))
    if p.kind == "categorical":
        onehot = -np.ones((len(values), len(p.choices)))
        onehot[np.arange(len(values)), idx] = 1.0
        return onehot
    n = len(p.choices)
    return (2.0 * idx / (n - 1) - 1.0)[:, None] if n > 1 else np.zeros((len(values), 1))
