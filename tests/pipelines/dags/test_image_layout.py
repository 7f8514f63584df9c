"""The Airflow image puts the DAG where its default pipeline path expects the compiled
pipeline (run here, in .venv-airflow: it reads the DAG's own configuration)."""

from __future__ import annotations

from tests.pipelines.dags.conftest import DAGS_FOLDER

DOCKERFILE = DAGS_FOLDER / "Dockerfile"


def test_the_image_layout_matches_the_dags_default_package_path() -> None:
    """In the image the DAG sits in /opt/airflow/dags, the pipeline in its parent folder."""
    from homeval_trigger.config import TriggerConfig

    default = TriggerConfig.from_env({}).pipeline_package
    assert default == DAGS_FOLDER.parent / "house_price_pipeline.yaml"
    text = DOCKERFILE.read_text()
    assert "/opt/airflow/dags/homeval_trigger/" in text
    assert "/opt/airflow/house_price_pipeline.yaml" in text
