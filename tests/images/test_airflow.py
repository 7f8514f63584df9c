"""The homeval-airflow image: Airflow's own CLI, in the image as the chart runs it (its
airflow user, read-only root), finds the homeval_pipeline DAG without an import error."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest

pytestmark = pytest.mark.slow


def test_airflow_lists_the_homeval_dag_without_import_errors(
    built: Callable[[str], str],
) -> None:
    image = built("airflow")
    # a throw-away metadata database under /tmp; the chart points Airflow at PostgreSQL
    script = (
        "airflow db migrate >/dev/null 2>&1 || exit 3; "
        "airflow dags list-import-errors --local -o json 2>/dev/null; echo '#'; "
        "airflow dags list --local -o json 2>/dev/null; echo '#'; id -u"
    )
    env = {
        "AIRFLOW_HOME": "/tmp/airflow",
        "AIRFLOW__CORE__DAGS_FOLDER": "/opt/airflow/dags",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    options = [f"--env={key}={value}" for key, value in env.items()]
    done = subprocess.run(
        ["docker", "run", "--rm", "--read-only", "--tmpfs", "/tmp:mode=1777",
         "--cap-drop", "ALL", *options, image, "sh", "-c", script],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    errors, dags, uid = (part.strip() for part in done.stdout.split("#"))
    assert json.loads(errors.splitlines()[-1]) == []
    listed = {dag["dag_id"]: dag for dag in json.loads(dags.splitlines()[-1])}
    assert "homeval_pipeline" in listed, listed
    assert uid == "50000"
