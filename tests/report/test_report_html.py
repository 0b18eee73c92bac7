"""`diffuse report`: one self-contained HTML file with every section, for a study and a bench."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest

from tests.report.helpers import check, diffuse


class _Collect(HTMLParser):
    """Tags, their attributes and section ids of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _parse(text: str) -> _Collect:
    parser = _Collect()
    parser.feed(text)
    return parser


def _assert_self_contained(page: _Collect) -> None:
    for tag, attrs in page.tags:
        assert tag not in ("link", "iframe", "object", "embed"), f"<{tag}> loads something: {attrs}"
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not re.match(r"^(https?:)?//", value), f"<{tag} {key}={value[:80]}> fetches from the network"
        if tag == "img":
            assert (attrs.get("src") or "").startswith("data:image/"), "figures are embedded as data: URIs"
        if tag == "script":
            assert "src" not in attrs, "scripts are inline"


@pytest.fixture(scope="module")
def synthetic_report(synthetic_study, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "synthetic.html"
    proc = check(diffuse("report", str(synthetic_study.space), "-o", str(out), cwd=synthetic_study.folder))
    return out, proc


def test_report_holds_every_section_and_is_self_contained(synthetic_report) -> None:
    out, proc = synthetic_report
    assert proc.stdout == "" and f"wrote {out}" in proc.stderr
    text = out.read_text(encoding="utf-8")
    page = _parse(text)
    _assert_self_contained(page)
    sections = [a["id"] for t, a in page.tags if t == "section"]
    assert sections == ["front", "hv", "parallel", "designs", "importance", "failures", "space", "settings"]
    images = [a for t, a in page.tags if t == "img"]
    # pairwise + 3-D front, hypervolume, parallel coordinates, importance
    assert len(images) == 5 and all(a.get("alt") for a in images)
    for img in images:
        svg = base64.b64decode(img["src"].split(",", 1)[1])
        assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
    assert "@import" not in text and "url(http" not in text


def test_design_table_lists_the_front_with_real_values_and_layers(synthetic_study, synthetic_report) -> None:
    from diffuse_dse.cli._common import space_of
    from diffuse_dse.engine import pareto_trials
    from diffuse_dse.engine.study import load_study, storage_url

    study = load_study(storage_url(str(synthetic_study.db)), None)
    front = pareto_trials(space_of(study), study.trials)
    text = synthetic_report[0].read_text(encoding="utf-8")
    table = text[text.index('id="pareto-table"'):]
    table = table[: table.index("</table>")]
    header = re.findall(r"<th\b[^>]*>(.*?)</th>", table)
    assert header[:4] == ["trial", "f1", "f2", "f3"]
    assert "a (hw)" in header and "c (eda)" in header and "b (hw)" in header
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1])
    assert len(rows) == len(front)
    trial_numbers = {int(re.search(r"<td[^>]*>(\d+)</td>", r).group(1)) for r in rows}
    assert trial_numbers == {t.number for t in front}
    b_values = {str(t.user_attrs["config"]["b"]) for t in front}
    b_col = header.index("b (hw)")
    shown = {re.findall(r"<td[^>]*>(.*?)</td>", r)[b_col] for r in rows}
    assert shown == b_values, "the ordinal parameter is shown as its real value, not its rank"
    assert 'class="sortable"' in table and "<script>" in text


def test_failure_summary_and_two_objective_report(flaky_study, tmp_path) -> None:
    out = tmp_path / "flaky.html"
    check(diffuse("report", str(flaky_study.db), "-o", str(out), "--images", "png"))
    text = out.read_text(encoding="utf-8")
    _assert_self_contained(_parse(text))
    assert "the flow crashed on a step design" in text
    failures = text[text.index('id="failures"'):text.index('id="space"')]
    assert re.search(r"failed</td><td[^>]*>[1-9]", failures)
    assert "data:image/png;base64," in text and "in three dimensions" not in text  # two objectives: no 3-D view
    assert "area &lt;= 6" in text  # the outcome constraint, with the space


def test_bench_storage_report_compares_samplers(bench_storage, tmp_path) -> None:
    out = tmp_path / "bench.html"
    check(diffuse("report", str(bench_storage.db), "-o", str(out), "--importance", "none"))
    text = out.read_text(encoding="utf-8")
    page = _parse(text)
    _assert_self_contained(page)
    sections = [a["id"] for t, a in page.tags if t == "section"]
    assert sections[0] == "compare"
    compare = text[text.index('id="compare"'):text.index('id="front"')]
    assert compare.count("<img") == 2
    assert re.search(r"<td[^>]*>random</td><td[^>]*>2</td><td[^>]*>12</td>", compare)
    assert re.search(r"<td[^>]*>tpe</td><td[^>]*>2</td><td[^>]*>12</td>", compare)
    assert "tpe-1#" in text  # pooled trials are named study#number


def test_report_bad_input_is_one_line_and_exit_2(tmp_path, synthetic_study) -> None:
    missing = diffuse("report", str(tmp_path / "nothing.db"))
    assert missing.returncode == 2 and "nothing.db: no such study database" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    wrong = diffuse("report", str(synthetic_study.db), "--study", "nope", "-o", str(tmp_path / "r.html"))
    assert wrong.returncode == 2 and "has no study 'nope'" in wrong.stderr
    folder = diffuse("report", str(synthetic_study.db), "-o", str(tmp_path / "no" / "r.html"))
    assert folder.returncode == 2 and "does not exist" in folder.stderr
