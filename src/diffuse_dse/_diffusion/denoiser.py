"""A conditional denoiser over encoded designs, trained with the DDPM objective and sampled with DDIM.

The network ``eps_theta(x_t, t, c)`` is a residual MLP on the sum of three embeddings: of
``x_t`` (a ``n x d`` tensor of noisy designs in ``[-1, 1]^d``), of the time ``t`` (sinusoidal,
then an MLP) and of the condition ``c`` (a ``n x m`` tensor of target QoR on the common scale).
Training minimizes the noise-prediction loss of [Ho2020]_::

    L = E_{x_0, c, t, eps} || eps - eps_theta(sqrt(ab_t) x_0 + sqrt(1 - ab_t) eps, t, c~) ||^2

where ``c~`` is replaced by a learned null embedding with probability ``cond_dropout``, so the
same network also models ``p(x)`` (classifier-free guidance, [Ho2022]_). At sampling time::

    eps_hat = eps_theta(x_t, t, 0) + w (eps_theta(x_t, t, c) - eps_theta(x_t, t, 0))
              - s sqrt(1 - ab_t) grad_{x_t} log p(c | x0_hat(x_t))

with ``w`` the CFG weight and ``s`` the predictor-guidance scale (classifier guidance of
[Dhariwal2021]_, with the gradient taken through the predicted clean design ``x0_hat``; the
term is supplied by the caller). DDIM [Song2021]_ then takes few deterministic steps.

.. [Ho2022] J. Ho, T. Salimans. Classifier-free diffusion guidance. arXiv 2207.12598, 2022.
.. [Dhariwal2021] P. Dhariwal, A. Nichol. Diffusion models beat GANs on image synthesis. NeurIPS 2021.
.. [DiffuSE] DiffuSE: cross-layer design space exploration of DNN accelerators via diffusion-driven
   optimization. arXiv 2503.23945, 2025.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from diffuse_dse._diffusion.nets import linear, resolve_device, sinusoidal_embedding
from diffuse_dse._diffusion.schedule import NoiseSchedule

Guide = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``guide(x0_hat, c)``: the ``n`` log-likelihoods ``log p(c | x0_hat)`` (differentiable in ``x0_hat``)."""


class _Block(nn.Module):
    def __init__(self, hidden: int, generator: torch.Generator, device: torch.device) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden, device=device)
        self.fc1 = linear(hidden, 2 * hidden, generator, device=device)
        self.fc2 = linear(2 * hidden, hidden, generator, device=device)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.fc2(nn.functional.silu(self.fc1(self.norm(h))))


class DenoiserNet(nn.Module):
    """``eps_theta``: maps (``n x d`` ``x_t``, length-``n`` ``t`` in ``[0, 1]``, ``n x m`` ``c``,
    length-``n`` boolean ``keep``) to a ``n x d`` noise estimate; rows with ``keep`` false ignore ``c``."""

    def __init__(self, d: int, m: int, hidden: int, depth: int, generator: torch.Generator,
                 device: torch.device, time_dim: int = 32) -> None:
        super().__init__()
        self.time_dim = time_dim
        self.inp = linear(d, hidden, generator, device=device)
        self.t1 = linear(time_dim, hidden, generator, device=device)
        self.t2 = linear(hidden, hidden, generator, device=device)
        self.c1 = linear(m, hidden, generator, device=device)
        self.c2 = linear(hidden, hidden, generator, device=device)
        self.null = nn.Parameter(torch.zeros(hidden, device=device))
        self.blocks = nn.ModuleList(_Block(hidden, generator, device) for _ in range(depth))
        self.out_norm = nn.LayerNorm(hidden, device=device)
        self.out = linear(hidden, d, generator, device=device, zero=True)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, c: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        silu = nn.functional.silu
        temb = self.t2(silu(self.t1(sinusoidal_embedding(t, self.time_dim))))
        cemb = self.c2(silu(self.c1(c)))
        cemb = torch.where(keep[:, None], cemb, self.null.expand_as(cemb))
        h = self.inp(x_t) + temb + cemb
        for block in self.blocks:
            h = block(h)
        return self.out(silu(self.out_norm(h)))


class ConditionalDiffusion:
    """Estimator for ``p(x | c)``: DDPM training with condition dropout, DDIM sampling.

    Args:
        hidden, depth: width and number of residual blocks of the denoiser.
        n_timesteps: ``T`` of the cosine schedule.
        cond_dropout: probability of replacing the condition by the null embedding in training.
        lr: Adam learning rate (linearly decayed to 10 % over the last half of the steps).
        steps, warm_steps: optimizer steps for a cold fit and for a warm-started refit.
        batch_size: rows per optimizer step, drawn with replacement in proportion to ``weights``.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
    """

    def __init__(self, *, hidden: int = 128, depth: int = 2, n_timesteps: int = 200, cond_dropout: float = 0.15,
                 lr: float = 2e-3, steps: int = 1200, warm_steps: int = 300, batch_size: int = 128,
                 device: str = "cpu") -> None:
        self.hidden = hidden
        self.depth = depth
        self.n_timesteps = n_timesteps
        self.cond_dropout = cond_dropout
        self.lr = lr
        self.steps = steps
        self.warm_steps = warm_steps
        self.batch_size = batch_size
        self.device = device

    def fit(self, X: np.ndarray, C: np.ndarray, *, generator: torch.Generator, weights: np.ndarray | None = None,
            warm_start: bool = False) -> ConditionalDiffusion:
        """Train on a ``n x d`` array ``X`` of encoded designs and a ``n x m`` array ``C`` of conditions.

        With ``warm_start`` and a previous fit of the same shapes, training continues from the
        previous weights for ``warm_steps`` steps; otherwise it starts afresh for ``steps``.
        """
        X = np.asarray(X, dtype=np.float32)
        C = np.asarray(C, dtype=np.float32)
        if X.ndim != 2 or C.ndim != 2 or len(X) != len(C) or len(X) == 0:
            raise ValueError(f"ConditionalDiffusion.fit expects n x d and n x m arrays with n >= 1. "
                             f"Got {X.shape} and {C.shape}.")
        if not (np.isfinite(X).all() and np.isfinite(C).all()):
            raise ValueError("ConditionalDiffusion.fit: X and C must be finite.")
        device = resolve_device(self.device)
        d, m = X.shape[1], C.shape[1]
        warm = warm_start and hasattr(self, "net_") and (self.n_features_in_, self.n_conditions_) == (d, m)
        if not warm:
            self.net_ = DenoiserNet(d, m, self.hidden, self.depth, generator, device)
            self.schedule_ = NoiseSchedule(self.n_timesteps, device)
            self.n_features_in_, self.n_conditions_ = d, m
        steps = self.warm_steps if warm else self.steps
        x_all = torch.from_numpy(X).to(device)
        c_all = torch.from_numpy(C).to(device)
        w = torch.ones(len(X)) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        net, sched, T = self.net_, self.schedule_, self.n_timesteps
        net.train()
        loss = torch.tensor(float("nan"))
        for step in range(steps):
            frac = step / max(1, steps)
            for group in opt.param_groups:
                group["lr"] = self.lr * (1.0 if frac < 0.5 else 1.0 - 1.8 * (frac - 0.5))
            idx = torch.multinomial(w, self.batch_size, replacement=True, generator=generator).to(device)
            t = torch.randint(0, T, (self.batch_size,), generator=generator).to(device)
            noise = torch.randn(self.batch_size, d, generator=generator).to(device)
            keep = (torch.rand(self.batch_size, generator=generator) >= self.cond_dropout).to(device)
            x_t = sched.add_noise(x_all[idx], noise, t)
            loss = nn.functional.mse_loss(net(x_t, t.float() / T, c_all[idx], keep), noise)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        net.eval()
        self.loss_ = float(loss.detach())
        return self

    def sample(self, C: np.ndarray, *, generator: torch.Generator, cfg_weight: float = 2.0, n_steps: int = 20,
               guide: Guide | None = None, guide_scale: float = 1.0, clip: float = 1.05) -> np.ndarray:
        """One design per row of the ``n x m`` condition array ``C``, as a ``n x d`` array.

        Args:
            cfg_weight: ``w`` above; ``1`` is the plain conditional model, ``0`` ignores ``C``.
            n_steps: DDIM steps.
            guide: ``log p(c | x0_hat)``; its gradient steers each step (predictor guidance).
            guide_scale: ``s`` above.
            clip: ``x0_hat`` is clamped to ``[-clip, clip]`` at each step.
        """
        device = resolve_device(self.device)
        net, sched = self.net_, self.schedule_
        c = torch.as_tensor(np.asarray(C, dtype=np.float32), device=device)
        n = len(c)
        x = torch.randn(n, self.n_features_in_, generator=generator).to(device)
        times = sched.ddim_times(n_steps)
        keep = torch.cat([torch.ones(n, dtype=torch.bool), torch.zeros(n, dtype=torch.bool)]).to(device)
        c2 = torch.cat([c, c])
        for i, t in enumerate(times):
            t_prev = times[i + 1] if i + 1 < len(times) else None
            with torch.no_grad():
                tt = torch.full((2 * n,), t / self.n_timesteps, device=device)
                e_c, e_u = net(torch.cat([x, x]), tt, c2, keep).chunk(2)
                eps = e_u + cfg_weight * (e_c - e_u)
            ab = sched.alpha_bar[t]
            if guide is not None and guide_scale > 0:
                x0 = sched.predict_x0(x, eps, t).clamp(-clip, clip).detach().requires_grad_(True)
                with torch.enable_grad():
                    (grad,) = torch.autograd.grad(guide(x0, c).sum(), x0)
                # d x0_hat / d x_t = 1 / sqrt(ab) with eps held fixed.
                grad = grad / ab.sqrt()
                eps = eps - guide_scale * (1 - ab).sqrt() * grad
            x = sched.ddim_step(x, eps, t, t_prev, clip=clip)
        return x.detach().cpu().numpy().astype(float)
