"""The shipped workloads load with the shapes of their cited architectures."""

from __future__ import annotations

import pytest

from diffuse_dse.errors import UsageError
from diffuse_dse.workloads import WORKLOADS, load_workload


def test_resnet50_matches_he2016() -> None:
    wl = load_workload("resnet50")
    assert sum(layer.count for layer in wl.layers) == 54  # 53 convolutions + fc
    assert wl.macs == pytest.approx(4.09e9, rel=0.01)
    conv1 = wl.layers[0]
    assert (conv1.m, conv1.k, conv1.n) == (112 * 112, 7 * 7 * 3, 64)
    assert wl.layers[-1].m == 1 and wl.layers[-1].k == 2048 and wl.layers[-1].n == 1000


def test_mobilenetv2_matches_sandler2018() -> None:
    wl = load_workload("mobilenetv2")
    assert wl.macs == pytest.approx(300e6, rel=0.02)  # "300M multiply-adds" (Table 4)
    dw = [layer for layer in wl.layers if layer.groups > 1]
    assert len(dw) == 17 and all(layer.k == 9 and layer.n == 1 for layer in dw)


def test_bert_base_matches_devlin2019() -> None:
    wl = load_workload("bert-base")
    per_layer = 4 * 128 * 768 * 768 + 2 * 128 * 768 * 3072 + 2 * 12 * 128 * 128 * 64
    assert wl.macs == 12 * per_layer


def test_every_workload_loads_and_unknown_names_fail() -> None:
    for name in WORKLOADS:
        assert load_workload(name).layers
    with pytest.raises(UsageError, match="resnet50"):
        load_workload("alexnet")
