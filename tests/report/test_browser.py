"""The report in a real browser: Debian's Chromium, headless. It loads with no console error,
its figures load and are drawn, and the design table sorts when a header is clicked."""

from __future__ import annotations

import contextlib
import html
import io
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from tests.report.helpers import check, diffuse

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--hide-scrollbars", "--mute-audio"]

PROBE_HEAD = """<script>window.__errors=[];
window.addEventListener('error',function(e){var t=e.target;
  window.__errors.push(t&&t!==window&&t.tagName?('failed to load <'+t.tagName+'>'):String(e.message));},true);
window.addEventListener('unhandledrejection',function(e){window.__errors.push('unhandled rejection '+e.reason);});
var _ce=console.error;console.error=function(){window.__errors.push('console.error: '+
  Array.prototype.join.call(arguments,' '));_ce.apply(console,arguments);};</script>"""

PROBE_TAIL = """<script>window.addEventListener('load',function(){
  var images=Array.prototype.map.call(document.images,function(i){return [i.complete,i.naturalWidth,i.naturalHeight];});
  function column(k){return Array.prototype.map.call(document.querySelectorAll('#pareto-table tbody tr'),
    function(r){var c=r.cells[k];var v=c.getAttribute('data-v');return parseFloat(v!==null?v:c.textContent);});}
  var th=document.querySelectorAll('#pareto-table thead th')[1];
  th.click();var asc=column(1);var state1=th.getAttribute('aria-sort');
  th.click();var desc=column(1);var state2=th.getAttribute('aria-sort');
  var out=document.createElement('pre');out.id='__probe';
  out.textContent=JSON.stringify({errors:window.__errors,images:images,asc:asc,desc:desc,states:[state1,state2]});
  document.body.appendChild(out);});</script>"""


def chromium(args: list[str], profile: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium in its own process group (killed whole on timeout)."""
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # helper processes left behind
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def console_errors(stderr: str) -> list[str]:
    """Console messages and uncaught errors Chromium logged (``--enable-logging=stderr``)."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def probe(page: Path, tmp_path: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    probed = tmp_path / f"probe-{page.name}"
    probed.write_text(text.replace("<head>", "<head>" + PROBE_HEAD, 1).replace("</body>", PROBE_TAIL + "</body>", 1),
                      encoding="utf-8")
    proc = chromium(["--dump-dom", "--virtual-time-budget=10000", probed.as_uri()], tmp_path / "profile-probe")
    found = re.search(r'<pre id="__probe">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"the probe did not run; chromium stderr:\n{proc.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def colourful_pixels(png: bytes) -> int:
    img = matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]
    return int(((img.max(axis=2) - img.min(axis=2)) > 0.3).sum())


@pytest.fixture(scope="module")
def report(synthetic_study, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "report.html"
    check(diffuse("report", str(synthetic_study.db), "-o", str(out)))
    return out


@pytest.mark.timeout(300)
def test_report_loads_with_no_console_error(report, tmp_path) -> None:
    proc = chromium(["--enable-logging=stderr", "--v=0", "--dump-dom", "--virtual-time-budget=10000", report.as_uri()],
                    tmp_path / "profile")
    assert "</html>" in proc.stdout, proc.stderr[-2000:]
    assert console_errors(proc.stderr) == []
    result = probe(report, tmp_path)
    assert result["errors"] == []
    assert len(result["images"]) == 5
    assert all(complete and w > 100 and h > 100 for complete, w, h in result["images"]), result["images"]


@pytest.mark.timeout(300)
def test_the_error_checks_do_catch_errors(tmp_path) -> None:
    """The two checks above are not vacuous: a page with a script error and a broken image fails both."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><head><title>x</title></head><body><img src='data:image/png;base64,AAAA'>"
                   "<table id='pareto-table'><thead><tr><th>a</th><th>b</th></tr></thead><tbody></tbody></table>"
                   "<script>console.error('boom'); undefinedFunction();</script></body></html>")
    proc = chromium(["--enable-logging=stderr", "--v=0", "--dump-dom", "--virtual-time-budget=5000", bad.as_uri()],
                    tmp_path / "profile")
    assert any("undefinedFunction" in line for line in console_errors(proc.stderr)), proc.stderr[-2000:]
    errors = probe(bad, tmp_path)["errors"]
    assert any("boom" in e for e in errors) and any("undefinedFunction" in e for e in errors)
    assert any("failed to load <IMG>" in e for e in errors)


@pytest.mark.timeout(300)
def test_design_table_sorts_in_the_browser(report, tmp_path) -> None:
    result = probe(report, tmp_path)
    asc, desc = result["asc"], result["desc"]
    assert len(asc) >= 3
    assert asc == sorted(asc) and desc == sorted(asc, reverse=True)
    assert result["states"] == ["ascending", "descending"]


@pytest.mark.timeout(300)
def test_screenshot_shows_the_plots_drawn(report, tmp_path) -> None:
    shot = tmp_path / "shot.png"
    chromium([f"--screenshot={shot}", "--window-size=1300,3000", report.as_uri()], tmp_path / "profile")
    assert shot.exists(), "chromium wrote no screenshot"
    # the same page with its figures removed: the difference is what the figures drew
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r'src="data:image/[^"]+"', 'src=""', report.read_text(encoding="utf-8")), encoding="utf-8")
    bare_shot = tmp_path / "bare.png"
    chromium([f"--screenshot={bare_shot}", "--window-size=1300,3000", bare.as_uri()], tmp_path / "profile-bare")
    with_figures, without = colourful_pixels(shot.read_bytes()), colourful_pixels(bare_shot.read_bytes())
    assert with_figures > without + 20_000, (with_figures, without)
    img = matplotlib.image.imread(str(shot))
    assert img.shape[:2] == (3000, 1300) and np.std(img[..., :3]) > 0.05
