"""Checks of the SCALE-Sim harness: SCALE-Sim's own code gives the closed form `run.py` states,
its end-to-end report is that count less one, our layers line up with SCALE-Sim's."""

import pathlib

import pytest

import run


@pytest.fixture
def cfg_dir(tmp_path):
    return pathlib.Path(tmp_path)


def layer(workload, name):
    return next(l for l in run.workload_layers(workload) if l[0] == name)


@pytest.mark.parametrize("dim", [8, 16])
@pytest.mark.parametrize("df", ["os", "ws"])
@pytest.mark.parametrize(
    "workload,name",
    [("bert-base", "attn_scores"), ("bert-base", "attn_context"), ("resnet50", "conv5_n_b")],
)
def test_scalesim_compute_model_is_the_closed_form(cfg_dir, dim, df, workload, name):
    cfg = run.make_config(cfg_dir / "c.cfg", dim, df)
    _, _, elems, mnk, _ = layer(workload, name)
    rows, ss_mnk = run.scalesim_compute_cycles(cfg, elems)
    assert ss_mnk == mnk
    assert rows == run.closed_form(dim, df, *mnk)


def test_padded_strided_convolutions_keep_our_gemm_shape(cfg_dir):
    # conv1 (7×7, stride 2, pad 3) and conv3_1_b (3×3, stride 2, pad 1): SCALE-Sim rounds
    # partial windows up, so the input is cut to (E − 1)·s + R rows
    cfg = run.make_config(cfg_dir / "c.cfg", 32, "ws")
    for name, mnk in [("conv1", (112 * 112, 64, 147)), ("conv3_1_b", (28 * 28, 128, 1152))]:
        _, _, elems, ours_mnk, _ = layer("resnet50", name)
        rows, ss_mnk = run.scalesim_compute_cycles(cfg, elems)
        assert ss_mnk == ours_mnk == mnk
        assert rows == run.closed_form(32, "ws", *mnk)


@pytest.mark.parametrize("df", ["os", "ws"])
def test_end_to_end_report_is_the_compute_model_less_one(cfg_dir, df):
    layers = [layer("bert-base", "attn_context")]
    [(_, total, stalls)] = run.scalesim_end_to_end(cfg_dir, 16, df, layers, "CALC", 16)
    rows, _ = run.scalesim_compute_cycles(run.make_config(cfg_dir / "c.cfg", 16, df), layers[0][2])
    assert (total, stalls) == (rows - 1, 0)


@pytest.mark.skipif(not run.DEFAULT_BIN.is_file(), reason="no target/release/diffuse-dse")
def test_our_layers_line_up_with_the_workload():
    model = run.ours(run.DEFAULT_BIN, "resnet50", 16, "ws")
    layers = run.workload_layers("resnet50")
    assert [l["name"] for l in model["layers"]] == [l[0] for l in layers]
    assert [(l["m"], l["n"], l["k"]) for l in model["layers"]] == [l[3] for l in layers]
    assert all(l["dataflow"] == "WS" for l in model["layers"])
    assert model["bytes_per_cycle"] == 16.0
    assert abs(sum(l["cycles"] for l in model["layers"]) - model["cycles"]) < 1e-3
