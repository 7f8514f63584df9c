"""The project's alert rules, run by Prometheus itself: a predictor that is loading its
model (every start, scale-up and rollout) does not page as a server error, a real 5xx
does, and a predictor that stays unready alerts on its own, later.

Two ways: Debian's Prometheus loads ``manifests/base/prometheus/rules.yml`` and scrapes a
real predictor — one that answers 503 while no model is loaded (the rules unchanged), one
serving a defective model that answers 500 (every ``for:`` cut to seconds, so the alert
fires while the test waits); and promtool's rule unit tests play the unchanged rules
over the hours a scrape test cannot wait for.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import REPO, free_port, missing
from tests.deploy.defective_model import DEFECT_CITY, make_defective
from tests.deploy.test_dashboards_promql import (
    LISTING,
    PATH,
    Process,
    _registry,
    _start,
    query_prometheus,
    wait_for,
)

RULES = REPO / "manifests/base/prometheus/rules.yml"


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        missing("promtool not found (Debian package prometheus; make system-deps)")
    return str(found)


def _unit_test(tmp_path: Path, tests: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    spec = {"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": tests}
    path = tmp_path / "alerts.test.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return subprocess.run(
        [_promtool(), "test", "rules", str(path)], capture_output=True, text=True, check=False
    )


NOT_READY = 'homeval_predictor_not_ready_total{model_name="house-price",endpoint="predict"}'
OK = 'homeval_predictor_requests_total{model_name="house-price",endpoint="predict",code="200"}'
FAILED = 'homeval_predictor_requests_total{model_name="house-price",endpoint="predict",code="500"}'
SERVER_ERRORS = {
    "exp_labels": {"severity": "critical"},
    "exp_annotations": {"summary": "The predictor answers 5xx"},
}
STAYS_UNREADY = {
    "exp_labels": {"severity": "warning"},
    "exp_annotations": {"summary": "The predictor has answered 'not ready' for 15 minutes"},
}


def _alerts(at: str, **expected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"eval_time": at, "alertname": name, "exp_alerts": exp} for name, exp in expected.items()
    ]


def test_a_rollout_is_quiet_a_real_5xx_fires_and_so_does_a_predictor_that_stays_unready(
    tmp_path: Path,
) -> None:
    rollout = {  # 4 minutes of 'not ready' while the new pod loads, then served
        "interval": "1m",
        "input_series": [
            {"series": NOT_READY, "values": "0+30x4 120x40"},
            {"series": OK, "values": "0 0 0 0 0+600x40"},
        ],
        "alert_rule_test": _alerts("12m", PredictorServerErrors=[], PredictorNotReady=[]),
    }
    errors = {  # served, but answering 500s
        "interval": "1m",
        "input_series": [
            {"series": OK, "values": "0+600x30"},
            {"series": FAILED, "values": "0+5x30"},
        ],
        "alert_rule_test": _alerts("3m", PredictorServerErrors=[])
        + _alerts("10m", PredictorServerErrors=[SERVER_ERRORS], PredictorNotReady=[]),
    }
    stuck = {  # never loads (a broken artifact, a registry that does not answer)
        "interval": "1m",
        "input_series": [{"series": NOT_READY, "values": "0+30x40"}],
        "alert_rule_test": _alerts("10m", PredictorNotReady=[], PredictorServerErrors=[])
        + _alerts("25m", PredictorNotReady=[STAYS_UNREADY], PredictorServerErrors=[]),
    }
    done = _unit_test(tmp_path, [rollout, errors, stuck])
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_unit_tests_can_fail(tmp_path: Path) -> None:
    wrong = {
        "interval": "1m",
        "input_series": [{"series": NOT_READY, "values": "0+30x4 120x40"}],
        "alert_rule_test": _alerts("12m", PredictorNotReady=[STAYS_UNREADY]),
    }
    assert _unit_test(tmp_path, [wrong]).returncode != 0


def _predictor(tmp_path: Path, env: dict[str, str], *, ready: str) -> tuple[Process, int]:
    """``homeval serve`` on a free port, once ``ready`` answers 200; and that port."""
    port = free_port()
    homeval = str(Path(sys.executable).parent / "homeval")
    predictor = _start(
        "predictor", [homeval, "serve"], {**env, "HOMEVAL_PREDICTOR_PORT": str(port)},
        f"http://127.0.0.1:{port}", ready, tmp_path / "predictor.log",
    )  # fmt: skip
    return predictor, port


def _prometheus(binary: str, tmp_path: Path, rules: Path, predictor_port: int) -> Process:
    """Debian's Prometheus evaluating ``rules`` every second over one predictor."""
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {
                "job_name": "predictor",
                "static_configs": [{"targets": [f"127.0.0.1:{predictor_port}"]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    return _start(
        "prometheus",
        [binary, f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
        {}, f"http://127.0.0.1:{port}", "/-/ready", tmp_path / "prometheus.log",
    )  # fmt: skip


@pytest.mark.slow
def test_a_starting_predictor_scraped_by_prometheus_raises_no_server_error(
    tmp_path: Path,
) -> None:
    prometheus_bin = shutil.which("prometheus") or missing("Debian prometheus (make system-deps)")
    home = tmp_path / "home"
    home.mkdir()
    registry = f"sqlite:///{home / 'mlflow.db'}"  # empty: the model never loads
    env = {
        "HOMEVAL_HOME": str(home),
        "MLFLOW_TRACKING_URI": registry,
        "HOMEVAL_MLFLOW_TRACKING_URI": registry,
        "HOMEVAL_PREDICTOR_RELOAD_S": "1",
        "HOMEVAL_PREDICTOR_HOST": "127.0.0.1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    started: list[Process] = []
    try:
        predictor, port = _predictor(tmp_path, env, ready="/")
        started.append(predictor)
        prometheus = _prometheus(prometheus_bin, tmp_path, RULES, port)
        started.append(prometheus)
        with httpx.Client(base_url=predictor.url, timeout=10) as client:
            for _ in range(40):  # what callers send to a pod that is not ready yet
                answer = client.post(f"{PATH}:predict", json={"instances": [LISTING]})
                assert answer.status_code == 503, answer.text
                time.sleep(0.2)
        pending = wait_for(prometheus.url, 'ALERTS{alertname="PredictorNotReady"}', 60)
        assert pending, "the not-ready answers reach Prometheus and the rule sees them"
        assert pending[0]["metric"]["alertstate"] == "pending"  # 15 minutes before it fires
        assert not query_prometheus(prometheus.url, 'ALERTS{alertname="PredictorServerErrors"}')
        assert not query_prometheus(prometheus.url, 'homeval_predictor_requests_total{code=~"5.."}')
        rate = query_prometheus(prometheus.url, "sum(rate(homeval_predictor_not_ready_total[1m]))")
        assert float(rate[0]["value"][1]) > 0
    finally:
        for process in reversed(started):
            process.stop()


def _rules_firing_after(tmp_path: Path, wait: str) -> Path:
    """The project's rules with every ``for:`` set to ``wait`` (expressions unchanged)."""
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = wait
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rules))
    return path


@pytest.mark.slow
def test_real_server_errors_of_a_defective_model_fire_the_alert(
    tmp_path: Path, realtor_files: list[Path]
) -> None:
    prometheus_bin = shutil.which("prometheus") or missing("Debian prometheus (make system-deps)")
    home = tmp_path / "home"
    home.mkdir()
    # the defective encoder is unpickled by the predictor from tests/deploy/defective_model.py
    env = {**_registry(home, realtor_files, make_defective), "PYTHONPATH": str(REPO),
           "HOMEVAL_PREDICTOR_HOST": "127.0.0.1"}  # fmt: skip
    started: list[Process] = []
    try:
        predictor, port = _predictor(tmp_path, env, ready=PATH)  # serving: its model loaded
        started.append(predictor)
        prometheus = _prometheus(
            prometheus_bin, tmp_path, _rules_firing_after(tmp_path, "3s"), port
        )
        started.append(prometheus)
        broken = {**LISTING, "city": DEFECT_CITY}
        with httpx.Client(base_url=predictor.url, timeout=10) as client:
            for _ in range(30):
                priced = client.post(f"{PATH}:predict", json={"instances": [LISTING]})
                assert priced.status_code == 200, priced.text
                answer = client.post(f"{PATH}:predict", json={"instances": [broken]})
                assert answer.status_code == 500, answer.text
                assert "internal error: RuntimeError" in answer.text
                time.sleep(0.2)
        firing = wait_for(
            prometheus.url, 'ALERTS{alertname="PredictorServerErrors",alertstate="firing"}', 60
        )
        assert firing, "real 500s reach Prometheus and the rule fires"
        assert not query_prometheus(prometheus.url, 'ALERTS{alertname="PredictorNotReady"}')
    finally:
        for process in reversed(started):
            process.stop()
