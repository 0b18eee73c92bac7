"""The DDPM noise schedule and the deterministic DDIM update, in plain PyTorch.

With ``alpha_bar(t)`` the cosine schedule of [Nichol2021]_ on ``t = 1..T``, the forward
process of [Ho2020]_ is::

    x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps,   eps ~ N(0, I)

and a network ``eps_theta(x_t, t, c)`` is trained to predict ``eps``. DDIM [Song2021]_
samples on a short, descending subsequence ``tau_1 > ... > tau_S`` of times::

    x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_bar_t)
    x_s    = sqrt(alpha_bar_s) x0_hat + sqrt(1 - alpha_bar_s) eps_hat          (eta = 0)

.. [Ho2020] J. Ho, A. Jain, P. Abbeel. Denoising diffusion probabilistic models. NeurIPS 2020.
.. [Song2021] J. Song, C. Meng, S. Ermon. Denoising diffusion implicit models. ICLR 2021.
.. [Nichol2021] A. Nichol, P. Dhariwal. Improved denoising diffusion probabilistic models. ICML 2021.
"""

from __future__ import annotations

import math

import torch


class NoiseSchedule:
    """``alpha_bar`` for ``T`` steps; index ``t`` runs over ``0..T-1`` (``t = 0`` is least noisy)."""

    def __init__(self, n_timesteps: int, device: torch.device, s: float = 0.008) -> None:
        steps = torch.arange(n_timesteps + 1, dtype=torch.float64) / n_timesteps
        f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
        self.n_timesteps = n_timesteps
        self.alpha_bar = torch.cumprod(1 - betas, 0).float().to(device)

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``x_t`` for a ``n x d`` ``x0``, ``n x d`` ``noise`` and length-``n`` integer ``t``."""
        ab = self.alpha_bar[t][:, None]
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def ddim_times(self, n_steps: int) -> list[int]:
        """``n_steps`` evenly spaced times from ``T - 1`` down to ``0``."""
        n_steps = max(1, min(n_steps, self.n_timesteps))
        grid = torch.linspace(self.n_timesteps - 1, 0, n_steps).round().long().tolist()
        return list(dict.fromkeys(grid))

    def predict_x0(self, x_t: torch.Tensor, eps: torch.Tensor, t: int) -> torch.Tensor:
        ab = self.alpha_bar[t]
        return (x_t - (1 - ab).sqrt() * eps) / ab.sqrt()

    def ddim_step(self, x_t: torch.Tensor, eps: torch.Tensor, t: int, t_prev: int | None,
                  clip: float | None = None) -> torch.Tensor:
        """One deterministic (``eta = 0``) DDIM step from time ``t`` to ``t_prev`` (``None``: to ``x_0``).

        With ``clip``, ``x0_hat`` is clamped to ``[-clip, clip]`` and ``eps_hat`` recomputed from it.
        """
        x0 = self.predict_x0(x_t, eps, t)
        if clip is not None:
            x0 = x0.clamp(-clip, clip)
        if t_prev is None:
            return x0
        ab, ab_prev = self.alpha_bar[t], self.alpha_bar[t_prev]
        eps = (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()
        return ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps
