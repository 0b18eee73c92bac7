"""Ensembles that predict QoR and feasibility from an encoded design.

Both are ``E`` small MLPs trained at once (:class:`~diffuse_dse._diffusion.nets.BatchedMLP`),
each on its own bootstrap resample of the data (a "deep ensemble" [Lakshminarayanan2017]_).
For a ``n x d`` tensor ``X`` the regressor gives an ``E x n x m`` tensor of QoR predictions
``f_e(X)``, whose mean ranks candidates, whose spread measures how much to trust it, and
whose gradient steers sampling (predictor guidance). The classifier gives ``P(feasible | x)``,
the members' mean of ``sigmoid(g_e(x))``, learned from failed runs and outcome-constraint
violations (label 0) against successful, satisfying runs (label 1).

.. [Lakshminarayanan2017] B. Lakshminarayanan, A. Pritzel, C. Blundell. Simple and scalable
   predictive uncertainty estimation using deep ensembles. NeurIPS 2017.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from diffuse_dse._diffusion.nets import BatchedMLP, resolve_device


class _Ensemble:
    _loss = "mse"

    def __init__(self, *, n_members: int = 5, hidden: int = 64, depth: int = 2, lr: float = 5e-3,
                 steps: int = 500, warm_steps: int = 200, weight_decay: float = 1e-3, device: str = "cpu") -> None:
        self.n_members = n_members
        self.hidden = hidden
        self.depth = depth
        self.lr = lr
        self.steps = steps
        self.warm_steps = warm_steps
        self.weight_decay = weight_decay
        self.device = device

    def _fit(self, X: np.ndarray, Y: np.ndarray, generator: torch.Generator, weights: np.ndarray | None,
             warm_start: bool) -> None:
        name = type(self).__name__
        X = np.asarray(X, dtype=np.float32)
        Y = np.asarray(Y, dtype=np.float32)
        if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y) or len(X) == 0:
            raise ValueError(f"{name}.fit expects n x d and n x m arrays with n >= 1. Got {X.shape} and {Y.shape}.")
        if not (np.isfinite(X).all() and np.isfinite(Y).all()):
            raise ValueError(f"{name}.fit: X and Y must be finite.")
        device = resolve_device(self.device)
        n, d = X.shape
        m = Y.shape[1]
        warm = warm_start and hasattr(self, "net_") and (self.n_features_in_, self.n_outputs_) == (d, m)
        if not warm:
            self.net_ = BatchedMLP(self.n_members, d, m, self.hidden, self.depth, generator, device)
            self.n_features_in_, self.n_outputs_ = d, m
        if self._loss == "mse":
            self.y_mean_ = Y.mean(0)
            self.y_std_ = np.maximum(Y.std(0), 1e-6)
            Y = (Y - self.y_mean_) / self.y_std_
        w = torch.ones(n) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
        w = w / w.sum()
        # Bootstrap: each member weighs the rows by its own multinomial resample counts.
        counts = torch.stack([torch.bincount(torch.multinomial(w, n, replacement=True, generator=generator),
                                             minlength=n) for _ in range(self.n_members)]).float()
        counts = (counts / counts.sum(1, keepdim=True)).to(device)
        x = torch.from_numpy(X).to(device)
        y = torch.from_numpy(Y).to(device)
        opt = torch.optim.AdamW(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        steps = self.warm_steps if warm else self.steps
        loss = torch.tensor(float("nan"))
        for _ in range(steps):
            out = self.net_(x)
            if self._loss == "mse":
                per_row = ((out - y) ** 2).mean(-1)
            else:
                per_row = nn.functional.binary_cross_entropy_with_logits(
                    out[..., 0], y[:, 0].expand(self.n_members, -1), reduction="none")
            loss = (per_row * counts).sum(1).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        self.loss_ = float(loss.detach()) / self.n_members


class EnsembleRegressor(_Ensemble):
    """QoR predictor: ``n_members`` MLPs of ``depth`` hidden layers of ``hidden`` units.

    Trained full-batch with AdamW on the weighted mean squared error of standardized targets,
    ``steps`` steps cold and ``warm_steps`` warm-started.
    """

    def fit(self, X: np.ndarray, Y: np.ndarray, *, generator: torch.Generator, weights: np.ndarray | None = None,
            warm_start: bool = False) -> EnsembleRegressor:
        """Fit on a ``n x d`` array ``X`` and a ``n x m`` array ``Y``; returns ``self``."""
        self._fit(X, Y, generator, weights, warm_start)
        return self

    def predict_torch(self, X: torch.Tensor) -> torch.Tensor:
        """An ``E x n x m`` tensor of member predictions for a ``n x d`` tensor (differentiable)."""
        mean = torch.as_tensor(self.y_mean_, device=X.device)
        std = torch.as_tensor(self.y_std_, device=X.device)
        return self.net_(X) * std + mean

    def predict(self, X: np.ndarray) -> np.ndarray:
        """An ``E x n x m`` array of member predictions for a ``n x d`` array."""
        device = next(self.net_.parameters()).device
        with torch.no_grad():
            return self.predict_torch(torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)).cpu().numpy()


class EnsembleClassifier(_Ensemble):
    """Feasibility classifier: like :class:`EnsembleRegressor`, with a logistic loss on 0/1 labels."""

    _loss = "bce"

    def fit(self, X: np.ndarray, labels: np.ndarray, *, generator: torch.Generator,
            weights: np.ndarray | None = None, warm_start: bool = False) -> EnsembleClassifier:
        """Fit on a ``n x d`` array ``X`` and ``n`` labels (1 feasible, 0 not); returns ``self``."""
        self._fit(X, np.asarray(labels, dtype=np.float32).reshape(-1, 1), generator, weights, warm_start)
        return self

    def log_proba_torch(self, X: torch.Tensor) -> torch.Tensor:
        """A length-``n`` tensor of ``log P(feasible | x)`` (members' mean probability)."""
        logits = self.net_(X)[..., 0]
        return torch.logsumexp(nn.functional.logsigmoid(logits), 0) - np.log(self.n_members)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """A length-``n`` array of ``P(feasible | x)``."""
        device = next(self.net_.parameters()).device
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)
            return self.log_proba_torch(x).exp().cpu().numpy().astype(float)
