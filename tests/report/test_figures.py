"""Every figure renders from a small real study, in process and through `diffuse plot`."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import matplotlib.image
import numpy as np
import pytest

from diffuse_dse.cli._common import space_of
from diffuse_dse.engine.study import load_study, storage_url
from diffuse_dse.report import figures
from diffuse_dse.report.data import Bench, StudyData, fixed_reference, hv_history
from diffuse_dse.report.importance import param_importances
from tests.report.helpers import check, diffuse


def _data(made, study: str | None = None) -> StudyData:
    url = storage_url(str(made.db))
    st = load_study(url, study)
    return StudyData.from_study(st, space_of(st), url)


def _drawn(png: bytes) -> np.ndarray:
    """The image, asserting it is not blank (many distinct colours, ink on the page)."""
    img = matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]
    assert img.shape[0] > 200 and img.shape[1] > 200
    colours = np.unique((img.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    assert len(colours) > 20, f"only {len(colours)} colours: the figure looks blank"
    assert (img.min(axis=2) < 0.5).mean() > 0.005, "hardly any ink on the figure"
    return img


def _png(fig) -> bytes:
    buf = io.BytesIO()
    figures.save(fig, buf, fmt="png", dpi=80)
    return buf.getvalue()


def test_each_figure_renders_from_a_real_three_objective_study(synthetic_study) -> None:
    data = _data(synthetic_study)
    assert data.front, "the study has no front"
    imp = param_importances(data.space, data.trials)
    for fig in (figures.pareto_pairs(data), figures.pareto_3d(data), figures.hv_history(data),
                figures.parallel(data), figures.importance(data.space, imp)):
        _drawn(_png(fig))


def test_pareto_pairs_draws_one_panel_per_pair_and_every_front_design(synthetic_study) -> None:
    data = _data(synthetic_study)
    fig = figures.pareto_pairs(data)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    assert len(panels) == 3
    assert {(ax.get_xlabel(), ax.get_ylabel()) for ax in panels} == {("f1", "f2"), ("f1", "f3"), ("f2", "f3")}
    front_points = panels[0].collections[-1].get_offsets()
    assert len(front_points) == len(data.front)


def test_parallel_axes_are_real_values_with_layers_marked(flaky_study) -> None:
    data = _data(flaky_study)
    fig = figures.parallel(data)
    ax = fig.axes[0]
    labels = {t.get_text(): t.get_color() for t in ax.get_xticklabels()}
    assert labels["x [V]"] == figures.LAYER_COLOURS["hw"]
    assert labels["effort"] == figures.LAYER_COLOURS["eda"]
    texts = {t.get_text() for t in ax.texts}
    assert {"1", "8"} <= texts, "the pow2 axis shows real values (1..8), not exponents"
    assert {"low", "high"} <= texts, "the ordinal axis shows its values, not ranks"
    assert len(ax.lines) >= len(data.front)


def test_hypervolume_history_never_decreases_and_ends_at_the_front_hv(synthetic_study) -> None:
    from diffuse_dse.engine.pareto import hypervolume
    from diffuse_dse.engine.records import objective_matrix

    data = _data(synthetic_study)
    ref = fixed_reference(data.space, [data])
    xs, ys = hv_history(data, ref)
    assert list(xs) == list(range(1, len(data.evaluated) + 1))
    assert np.all(np.diff(ys) >= -1e-12)
    assert ys[-1] == pytest.approx(hypervolume(objective_matrix(data.space, data.feasible), ref))


def test_importance_is_keyed_by_parameter_names_not_optuna_keys(flaky_study) -> None:
    data = _data(flaky_study)
    imp = param_importances(data.space, data.trials)
    assert set(imp) == {"power", "delay"}
    for values in imp.values():
        assert set(values) == {"x", "depth", "kind", "effort"}  # not depth.log2 / effort.rank
        assert sum(values.values()) == pytest.approx(1.0)
    assert max(imp["power"], key=imp["power"].get) in ("x", "depth")


def test_bench_comparison_has_a_band_per_sampler(bench_storage) -> None:
    url = storage_url(str(bench_storage.db))
    studies = []
    for name in ("random-0", "random-1", "tpe-0", "tpe-1"):
        st = load_study(url, name)
        studies.append(StudyData.from_study(st, space_of(st), url))
    bench = Bench(studies)
    bands = bench.hv_bands()
    assert set(bands) == {"random", "tpe"}
    x, med, q25, q75 = bands["tpe"]
    assert len(x) == 12 and np.all(q25 <= med + 1e-12) and np.all(med <= q75 + 1e-12)
    _drawn(_png(figures.bench_hv(bench)))
    _drawn(_png(figures.bench_fronts(bench)))


@pytest.mark.parametrize(("kind", "suffix"), [("pareto", "svg"), ("pareto3d", "png"), ("hv", "svg"),
                                              ("parallel", "png"), ("importance", "png")])
def test_plot_command_writes_the_figure(synthetic_study, tmp_path, kind, suffix) -> None:
    out = tmp_path / f"{kind}.{suffix}"
    proc = check(diffuse("plot", str(synthetic_study.space), "--kind", kind, "-o", str(out),
                         cwd=synthetic_study.folder))
    assert proc.stdout == "" and "wrote" in proc.stderr
    if suffix == "png":
        _drawn(out.read_bytes())
    else:
        root = ET.parse(out).getroot()
        assert root.tag.endswith("svg") and len(list(root.iter())) > 50


def test_plot_compare_on_a_bench_storage(bench_storage, tmp_path) -> None:
    out = tmp_path / "compare.png"
    check(diffuse("plot", str(bench_storage.db), "--kind", "compare", "-o", str(out)))
    _drawn(out.read_bytes())


@pytest.mark.parametrize(("args", "message"), [
    (["--kind", "pareto", "-o", "front.pdf"], "must end in .png or .svg"),
    (["--kind", "compare", "-o", "c.png"], "compares the samplers of a bench storage"),
    (["--kind", "pareto", "-o", "no/such/folder/f.png"], "does not exist"),
])
def test_plot_bad_input_is_one_line_and_exit_2(synthetic_study, tmp_path, args, message) -> None:
    proc = diffuse("plot", str(synthetic_study.db), *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_pareto3d_of_two_objectives_says_why(flaky_study, tmp_path) -> None:
    proc = diffuse("plot", str(flaky_study.db), "--kind", "pareto3d", "-o", str(tmp_path / "x.png"))
    assert proc.returncode == 2 and "needs three objectives" in proc.stderr
