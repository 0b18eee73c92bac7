"""`make check`: run.py drives the real binary and writes an exact, complete trace.

Needs the harness's venv and a built binary (`cargo build --release`, or BIN=PATH).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BIN = Path(os.environ.get("BIN", REPO / "target" / "release" / "diffuse-dse")).resolve()
CONFIG = REPO / "src" / "cli" / "demo.toml"


@pytest.fixture(scope="module")
def binary():
    if not BIN.is_file():
        pytest.fail(f"no binary at {BIN}: run `cargo build --release` or set BIN=PATH")
    return str(BIN)


def lines_of(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def helper(binary, args, stdin=None):
    out = subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, check=True)
    return out.stdout


def test_random_trace_is_exact_and_complete(binary, tmp_path):
    trace = tmp_path / "random.jsonl"
    run = subprocess.run(
        [sys.executable, str(HERE / "run.py"), "--config", str(CONFIG), "--bin", binary,
         "--sampler", "random", "--seed", "5", "--budget", "16", "--batch", "8",
         "--out", str(trace)],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "", "data goes to the trace, logs to stderr"
    rows = lines_of(trace.read_text())
    assert [r["eval"] for r in rows] == list(range(16))
    assert [r["batch"] for r in rows] == [0] * 8 + [1] * 8
    assert {r["sampler"] for r in rows} == {"random"}
    assert {r["seed"] for r in rows} == {5}
    assert all(r["error"] is None and r["propose_seconds"] >= 0 for r in rows)

    space = json.loads(helper(binary, ["space", "--config", str(CONFIG), "--json"]))
    names = [p["name"] for p in space["params"]]
    # Our Sobol design comes first, in order.
    n0 = min(space["initial_design"], 16)
    sobol = lines_of(helper(binary, ["initial-design", "--config", str(CONFIG),
                                     "--n", str(n0), "--seed", "5"]))
    assert [r["params"] for r in rows[:n0]] == sobol
    assert [r["initial"] for r in rows] == [True] * n0 + [False] * (16 - n0)

    # Every evaluated design is complete and feasible, and its metrics are the evaluator's.
    params = "".join(json.dumps(r["params"]) + "\n" for r in rows)
    for r in rows:
        assert sorted(r["params"]) == sorted(names)
    for r in lines_of(helper(binary, ["repair", "--config", str(CONFIG)], params)):
        assert r["repaired"] is False, r
    fresh = lines_of(helper(binary, ["evaluate", "--jsonl", "--config", str(CONFIG)], params))
    assert [r["metrics"] for r in rows] == [f["metrics"] for f in fresh]
    assert all(set(o["name"] for o in space["objectives"]) <= set(r["metrics"]) for r in rows)

    # The same seed gives the same trace, timings aside.
    again = tmp_path / "again.jsonl"
    subprocess.run(
        [sys.executable, str(HERE / "run.py"), "--config", str(CONFIG), "--bin", binary,
         "--sampler", "random", "--seed", "5", "--budget", "16", "--out", str(again)],
        capture_output=True, text=True, check=True,
    )
    def untimed(rs):
        return [{k: v for k, v in r.items() if k != "propose_seconds"} for r in rs]

    assert untimed(lines_of(again.read_text())) == untimed(rows)


def test_a_missing_binary_is_one_line_and_exit_2(tmp_path):
    run = subprocess.run(
        [sys.executable, str(HERE / "run.py"), "--config", str(CONFIG),
         "--bin", str(tmp_path / "nope"), "--sampler", "random", "--budget", "4",
         "--out", str(tmp_path / "t.jsonl")],
        capture_output=True, text=True,
    )
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1
    assert "cargo build --release" in run.stderr
