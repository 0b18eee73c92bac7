"""optuna-dashboard opens our studies as they are (its WSGI app, no server)."""

from __future__ import annotations

import io
import json
import wsgiref.util

import pytest

optuna_dashboard = pytest.importorskip("optuna_dashboard")


def _get(app, path: str, query: str = "") -> tuple[str, bytes]:
    environ = {"PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()}
    wsgiref.util.setup_testing_defaults(environ)
    status: list[str] = []
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
    return status[0], body


def test_dashboard_lists_the_study_and_serves_every_trial(flaky_study) -> None:
    import optuna

    url = f"sqlite:///{flaky_study.db}"
    app = optuna_dashboard.wsgi(url)
    status, body = _get(app, "/api/studies")
    assert status.startswith("200"), body[:300]
    studies = json.loads(body)["study_summaries"]
    assert [s["study_name"] for s in studies] == ["flaky"]
    study_id = studies[0]["study_id"]
    status, body = _get(app, f"/api/studies/{study_id}", "after=0")
    assert status.startswith("200"), body[:300]
    detail = json.loads(body)
    stored = optuna.load_study(study_name="flaky", storage=url)
    assert len(detail["trials"]) == len(stored.trials)
    states = {t["state"] for t in detail["trials"]}
    assert {"Complete", "Fail"} <= states  # failures (and skipped, PRUNED proposals) display too
    params = {p["name"] for t in detail["trials"] for p in t["params"]}
    assert params == {"x", "depth.log2", "kind", "effort.rank"}
    attrs = {a["key"] for t in detail["trials"] for a in t["user_attrs"]}
    assert {"config", "metrics", "fail_reason"} <= attrs
    status, body = _get(app, f"/api/studies/{study_id}/param_importances")
    assert status.startswith("200"), body[:300]
    assert len(json.loads(body)["param_importances"]) == 2


def test_dashboard_opens_a_bench_storage(bench_storage) -> None:
    app = optuna_dashboard.wsgi(f"sqlite:///{bench_storage.db}")
    status, body = _get(app, "/api/studies")
    assert status.startswith("200")
    names = sorted(s["study_name"] for s in json.loads(body)["study_summaries"])
    assert names == ["random-0", "random-1", "tpe-0", "tpe-1"]
