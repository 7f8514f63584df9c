"""Prometheus configuration, alert rules and every dashboard expression, checked offline
with Debian's promtool; metric names checked against the services' contract."""

from __future__ import annotations

import importlib
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, on_path
from tests.deploy import dashboards

PROMETHEUS = REPO / "manifests/base/prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    return on_path("promtool", "Debian package prometheus: make system-deps")


def _check_rules(promtool: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)


def test_alert_rules_are_valid(promtool: str) -> None:
    result = _check_rules(promtool, PROMETHEUS / "rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def _all_expressions() -> list[dashboards.Query]:
    found = [q for f in dashboards.dashboard_files() for q in dashboards.queries(f)]
    return [q for q in found if q.datasource == "prometheus"]


def test_every_dashboard_expression_is_valid_promql(promtool: str, tmp_path: Path) -> None:
    """Each expression becomes a recording rule, so promtool parses it as Prometheus would."""
    rules = [
        {"record": f"homeval:check:{i}", "expr": dashboards.promql(q.text)}
        for i, q in enumerate(_all_expressions())
    ]
    assert len(rules) >= 15
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = _check_rules(promtool, path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_expression(promtool: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.rules.yml"
    bad = {"record": "x:y", "expr": "sum by (le (rate(x[5m]))"}
    path.write_text(yaml.safe_dump({"groups": [{"name": "bad", "rules": [bad]}]}))
    assert _check_rules(promtool, path).returncode != 0


def test_dashboards_and_alerts_read_only_contract_metrics() -> None:
    exprs = [q.text for q in _all_expressions()]
    rules = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    used = {dashboards.family(m) for e in exprs for m in dashboards.metric_names(e)}
    used.discard("up")
    assert used <= dashboards.METRICS_CONTRACT, (
        f"not in the contract: {used - dashboards.METRICS_CONTRACT}"
    )
    # every promised metric is shown somewhere
    assert used >= dashboards.METRICS_CONTRACT, f"never shown: {dashboards.METRICS_CONTRACT - used}"


def test_the_ui_registers_the_metrics_its_dashboard_reads() -> None:
    from prometheus_client import REGISTRY

    importlib.import_module("ui.metrics")  # registers the UI's metrics
    registered = {m.name for m in REGISTRY.collect()}
    # prometheus_client reports counters without their _total suffix
    names = {n + "_total" if n + "_total" in dashboards.METRICS_CONTRACT else n for n in registered}
    wanted = {m for m in dashboards.METRICS_CONTRACT if m.startswith("homeval_ui_")}
    assert wanted <= names, f"the UI does not export {wanted - names}"


def test_scrape_config_keeps_only_annotated_running_pods() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["homeval"]}}]
    relabel = job["relabel_configs"]
    keep = {tuple(r["source_labels"]): r["regex"] for r in relabel if r.get("action") == "keep"}
    assert keep[("__meta_kubernetes_pod_annotation_prometheus_io_scrape",)] == "true"
    assert keep[("__meta_kubernetes_pod_phase",)] == "Running"
    for rule in job["relabel_configs"]:
        re.compile(rule.get("regex", "(.*)"))  # RE2 syntax used here is also Python's
    address = next(r for r in job["relabel_configs"] if r.get("target_label") == "__address__")
    rewritten = re.sub(f"^(?:{address['regex']})$", address["replacement"].replace("$", "\\"),
                       "10.1.2.3:9090;8080")  # fmt: skip
    assert rewritten == "10.1.2.3:8080"
