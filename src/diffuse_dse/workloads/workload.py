"""DNN workloads as lists of GEMM-shaped layers, loaded from the YAML files in ``data/``.

A convolution with input ``H x H x C_in``, kernel ``R x R``, stride ``s``, padding ``p`` and
``C_out`` filters in ``g`` groups runs on a systolic array as ``g`` GEMMs (im2col)::

    E = floor((H + 2 p - R) / s) + 1        # output height and width
    m = E^2,  k = R^2 C_in / g,  n = C_out / g

whose ``A`` operand is read from an input feature map of ``H^2 C_in / g`` distinct elements
per group (Gemmini's conv loops fetch input windows, not the im2col matrix). A plain GEMM
layer gives ``m, k, n`` directly. ``count`` repeats identical layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

from diffuse_dse.errors import UsageError

WORKLOADS: tuple[str, ...] = ("resnet50", "mobilenetv2", "bert-base")
"""The workloads shipped with the package."""


@dataclass(frozen=True)
class Layer:
    """One layer as ``groups`` GEMMs ``C[m x n] = A[m x k] B[k x n]``, repeated ``count`` times.

    Attributes:
        a_elems: Distinct elements of ``A`` per group in memory: ``m k`` for a GEMM, the
            input feature map for a convolution.
    """

    name: str
    m: int
    n: int
    k: int
    groups: int = 1
    count: int = 1
    a_elems: int = 0
    kind: str = "gemm"

    @property
    def macs(self) -> int:
        """Multiply-accumulates of all groups and repeats."""
        return self.m * self.n * self.k * self.groups * self.count


@dataclass(frozen=True)
class Workload:
    """A named list of layers; the ``*_array`` properties give them as numpy columns."""

    name: str
    description: str
    layers: tuple[Layer, ...]

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def column(self, attr: str) -> np.ndarray:
        """One attribute of every layer as an int64 array (e.g. ``column("m")``)."""
        return np.array([getattr(layer, attr) for layer in self.layers], dtype=np.int64)


def _layer(entry: dict[str, Any], where: str) -> Layer:
    try:
        kind = entry.get("type", "gemm")
        count = int(entry.get("count", 1))
        if kind == "gemm":
            m, k, n = int(entry["m"]), int(entry["k"]), int(entry["n"])
            return Layer(entry["name"], m=m, n=n, k=k, count=count, a_elems=m * k, kind="gemm")
        if kind == "conv":
            hw, cin, cout = int(entry["in_hw"]), int(entry["in_c"]), int(entry["out_c"])
            r, s, g = int(entry["kernel"]), int(entry.get("stride", 1)), int(entry.get("groups", 1))
            pad = int(entry.get("pad", r // 2))
            e = (hw + 2 * pad - r) // s + 1
            return Layer(entry["name"], m=e * e, n=cout // g, k=r * r * cin // g, groups=g, count=count,
                         a_elems=hw * hw * cin // g, kind="conv")
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{where}: malformed layer {entry!r}: {exc}") from None
    raise UsageError(f"{where}: layer type must be 'gemm' or 'conv'. Got {kind!r}.")


@cache
def load_workload(name: str) -> Workload:
    """The shipped workload ``name`` (one of :data:`WORKLOADS`).

    Raises:
        UsageError: The name is not a shipped workload.
    """
    if name not in WORKLOADS:
        raise UsageError(f"Unknown workload '{name}'. Shipped workloads: {', '.join(WORKLOADS)}.")
    text = resources.files("diffuse_dse.workloads").joinpath("data", f"{name}.yaml").read_text()
    doc = yaml.safe_load(text)
    where = f"workloads/data/{name}.yaml"
    layers = tuple(_layer(entry, where) for entry in doc["layers"])
    return Workload(name=doc["name"], description=doc.get("description", ""), layers=layers)
