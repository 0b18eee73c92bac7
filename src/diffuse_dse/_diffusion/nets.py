"""Small torch building blocks whose weights come from an explicit :class:`torch.Generator`.

Nothing here draws from torch's global random state: layers are created on the ``meta``
device and initialized from the generator the caller passes, so two fits with the same
generator seed give bitwise-equal weights on the CPU.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterator

import torch
from torch import nn


def linear(n_in: int, n_out: int, generator: torch.Generator, *, device: torch.device, zero: bool = False) -> nn.Linear:
    """A :class:`torch.nn.Linear` with PyTorch's default uniform init drawn from ``generator``."""
    layer = nn.Linear(n_in, n_out, device="meta").to_empty(device=device)
    bound = 1.0 / math.sqrt(n_in)
    with torch.no_grad():
        if zero:
            layer.weight.zero_()
            layer.bias.zero_()
        else:
            layer.weight.copy_(_uniform((n_out, n_in), bound, generator).to(device))
            layer.bias.copy_(_uniform((n_out,), bound, generator).to(device))
    return layer


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(shape, generator=generator, dtype=torch.float32) * 2.0 - 1.0) * bound


def sinusoidal_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """The transformer position code of [Ho2020]_ for diffusion times.

    Args:
        t: a length-``n`` tensor of times in ``[0, 1]``.
        dim: the (even) embedding width.

    Returns:
        a ``n x dim`` tensor ``[sin(1000 t w_k), cos(1000 t w_k)]`` with ``w_k = 10000^(-k / (dim/2))``.
    """
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = 1000.0 * t[:, None].float() * freqs[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class BatchedMLP(nn.Module):
    """``E`` independent MLPs evaluated in one batched matrix product per layer.

    Weights have shape ``E x n_in x n_out``; :meth:`forward` maps an ``E x n x n_in`` (or a
    shared ``n x n_in``) tensor to ``E x n x n_out``. Used for the predictor and feasibility
    ensembles, whose members differ by initialization and bootstrap resampling.
    """

    def __init__(self, n_members: int, n_in: int, n_out: int, hidden: int, depth: int,
                 generator: torch.Generator, device: torch.device) -> None:
        super().__init__()
        sizes = [n_in] + [hidden] * depth + [n_out]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in itertools.pairwise(sizes):
            bound = 1.0 / math.sqrt(a)
            self.weights.append(nn.Parameter(_uniform((n_members, a, b), bound, generator).to(device)))
            self.biases.append(nn.Parameter(_uniform((n_members, 1, b), bound, generator).to(device)))
        self.n_members = n_members

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.n_members, -1, -1)
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = torch.nn.functional.silu(h)
        return h


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` intra-op threads, then restore the caller's setting."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resolve_device(name: str) -> torch.device:
    """``"cpu"``, ``"cuda"`` (fails when absent) or ``"auto"`` (CUDA when present)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        from diffuse_dse.errors import UsageError

        raise UsageError(f"The 'device' setting of DiffuSESampler is {name!r}, but torch sees no CUDA device. "
                         "Use device='cpu' or 'auto'.")
    return device
