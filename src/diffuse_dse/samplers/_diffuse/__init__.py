"""The DiffuSE sampler (see :class:`DiffuSESampler` and ``docs/diffuse-sampler.md``)."""

from diffuse_dse.samplers._diffuse.sampler import DiffuSESampler
from diffuse_dse.samplers._diffuse.settings import DiffuSESettings

__all__ = ["DiffuSESampler", "DiffuSESettings"]
