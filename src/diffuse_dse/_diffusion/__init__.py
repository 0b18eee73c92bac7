"""Torch models behind the DiffuSE sampler: imported lazily, so the CLI starts without torch.

* :mod:`.schedule`: the DDPM cosine schedule and the DDIM step.
* :mod:`.denoiser`: the conditional denoiser with classifier-free guidance.
* :mod:`.predictor`: the QoR predictor ensemble and the feasibility classifier.
"""

from diffuse_dse._diffusion.denoiser import ConditionalDiffusion, DenoiserNet
from diffuse_dse._diffusion.nets import torch_threads
from diffuse_dse._diffusion.predictor import EnsembleClassifier, EnsembleRegressor
from diffuse_dse._diffusion.schedule import NoiseSchedule

__all__ = [
    "ConditionalDiffusion",
    "DenoiserNet",
    "EnsembleClassifier",
    "EnsembleRegressor",
    "NoiseSchedule",
    "torch_threads",
]
