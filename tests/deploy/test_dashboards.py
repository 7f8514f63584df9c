"""Grafana dashboards: valid JSON, provisioned, pointing at the provisioned datasources;
their SQL panels run against the real store schema as Grafana's read-only role.

The PromQL panels are checked against a real Prometheus in test_dashboards_promql.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.deploy import dashboards

FILES = dashboards.dashboard_files()
NAMES = [f.name for f in FILES]


def test_the_three_dashboards_exist() -> None:
    assert {"serving.json", "pipeline.json", "ui.json"} <= set(NAMES)


def test_every_dashboard_file_is_provisioned_by_the_config_map_generator() -> None:
    kustomization = yaml.safe_load((dashboards.GRAFANA / "kustomization.yaml").read_text())
    generated = next(
        g for g in kustomization["configMapGenerator"] if g["name"] == "grafana-dashboards"
    )
    assert sorted(generated["files"]) == sorted(f"dashboards/{n}" for n in NAMES)


def _datasource_uids() -> dict[str, str]:
    provisioned = yaml.safe_load((dashboards.GRAFANA / "provisioning/datasources.yaml").read_text())
    return {d["uid"]: d["type"] for d in provisioned["datasources"]}


@pytest.mark.parametrize("path", FILES, ids=NAMES)
def test_dashboard_json_is_well_formed(path: Any) -> None:
    doc = dashboards.load(path)
    assert doc["uid"].startswith("homeval-")
    assert doc["title"]
    assert doc["panels"]
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    uids = _datasource_uids()
    for panel in doc["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
        assert panel["targets"], f"{panel['title']}: no query"
        for target in panel["targets"]:
            ds = target.get("datasource") or panel["datasource"]
            assert uids.get(ds["uid"]) == ds["type"], f"{panel['title']}: unknown datasource {ds}"


def test_dashboard_uids_are_unique() -> None:
    uids = [dashboards.load(f)["uid"] for f in FILES]
    assert len(uids) == len(set(uids))


def test_the_serving_dashboard_shows_what_the_issue_asks() -> None:
    text = " ".join(q.text for q in dashboards.queries(dashboards.DASHBOARD_DIR / "serving.json"))
    for needed in (
        "rate(homeval_predictor_requests_total",
        "histogram_quantile(0.5,",
        "histogram_quantile(0.95,",
        "histogram_quantile(0.99,",
        'code=~"[45].."',
        "homeval_model_info",
        "homeval_predicted_price_dollars_bucket",
    ):
        assert needed in text, needed
