"""Real images in a real engine: built by ``scripts/images.py``, run as the manifests run them.

The session makes a Docker engine answer (Debian's ``docker.io``; a ``dockerd`` started
here is stopped at the end, by its pid), builds the images under the tag ``test`` on the
bases ``make images`` would use (stand-ins from Debian packages where no registry
answers), and each test starts containers with ``--network host`` so they reach the
loopback services of the test (PostgreSQL, the S3 server) as pods reach cluster Services.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml

from tests.conftest import REPO, free_port, missing, mlflow_at
from tests.homeval.helpers import real_listings, small_model
from tests.inference.conftest import Registry, register
from tests.scratch_db import scratch_database

sys.path.insert(0, str(REPO / "scripts"))
import images as builder

TAG = "test"
RUN_AS = "1000:1000"
"""The uid:gid every homeval Deployment's securityContext names (runAsUser/runAsGroup)."""


@pytest.fixture(scope="session")
def engine() -> Iterator[None]:
    """A Docker engine for the session; one started here is stopped at the end."""
    if os.geteuid() != 0 and not builder.engine_answers():
        missing("no Docker engine answers and starting one needs root")
    try:
        started = builder.ensure_engine()
    except builder.ImagesError as exc:
        missing(f"no Docker engine: {exc}")
    yield
    if started is not None:
        os.kill(started, signal.SIGTERM)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(started, 0)


@pytest.fixture(scope="session")
def built(engine: None) -> Callable[[str], str]:
    """``built(part)`` -> the reference of that part's image, built once per session."""
    done: dict[str, str] = {}
    bases: dict[str, str] = {}

    def get(part: str) -> str:
        if part not in done:
            if part not in bases:
                bases.update(builder.resolve_bases([part]))
            try:
                (done[part],) = builder.build([part], TAG, bases, quiet=True)
            except builder.ImagesError as exc:
                pytest.fail(f"the {part} image does not build: {exc}")
        return done[part]

    return get


@dataclass
class Container:
    """A detached container, removed when the test ends."""

    name: str
    image: str

    def logs(self) -> str:
        proc = subprocess.run(["docker", "logs", self.name], capture_output=True, text=True)
        return proc.stdout + proc.stderr

    def exec(self, *cmd: str) -> str:
        proc = subprocess.run(
            ["docker", "exec", self.name, *cmd], capture_output=True, text=True, check=True
        )
        return proc.stdout

    def assert_runs_as_the_manifests_say(self) -> None:
        """The image's user is 1000 (runAsUser of every Deployment), with a passwd entry."""
        user = subprocess.run(
            ["docker", "inspect", "-f", "{{.Config.User}}", self.image],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        assert user in {RUN_AS, "1000"}, f"{self.image} runs as {user!r}"
        assert self.exec("id", "-u").strip() == "1000"
        assert self.exec("id", "-un").strip() != "1000", "uid 1000 has no passwd entry"

    def running(self) -> bool:
        proc = subprocess.run(
            ["docker", "inspect", "-f", "{{json .State}}", self.name],
            capture_output=True,
            text=True,
        )
        return proc.returncode == 0 and bool(json.loads(proc.stdout)["Running"])

    def wait_http(self, url: str, *, status: int = 200, timeout: float = 120.0) -> httpx.Response:
        """Poll ``url`` until it answers ``status``; fail with the container's log if not."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.running():
                pytest.fail(f"{self.image} exited before {url} answered:\n{self.logs()[-3000:]}")
            try:
                response = httpx.get(url, timeout=5)
                if response.status_code == status:
                    return response
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.3)
        pytest.fail(f"{url} gave {last} after {timeout:.0f} s:\n{self.logs()[-3000:]}")


def hardened_run(image: str, name: str, env: dict[str, str], *args: str) -> list[str]:
    """``docker run`` as the manifests run a pod: read-only root, /tmp and /data writable
    (emptyDir volumes there), no added capabilities, the image's own user."""
    cmd = [
        "docker", "run", "-d", "--name", name, "--network", "host",
        "--read-only", "--tmpfs", "/tmp:mode=1777", "--tmpfs", "/data:uid=1000,gid=1000",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
    ]  # fmt: skip
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    return [*cmd, image, *args]


_names = iter(range(1, 10**9))


@contextlib.contextmanager
def detached(image: str, env: dict[str, str], *args: str) -> Iterator[Container]:
    """A hardened container for the ``with`` block, removed after it."""
    name = f"homeval-test-{os.getpid()}-{next(_names)}"
    subprocess.run(hardened_run(image, name, env, *args), check=True, capture_output=True)
    try:
        yield Container(name, image)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


@pytest.fixture
def run_container() -> Iterator[Callable[..., Container]]:
    """``run_container(image, env, *args)`` starts a hardened container for this test."""
    with contextlib.ExitStack() as stack:
        yield lambda image, env, *args: stack.enter_context(detached(image, env, *args))


# --- the services around the images: S3 on loopback, MLflow server containers

BUCKET = "mlflow"
"""The bucket the MLflow Deployment's --artifacts-destination names (s3://mlflow/...)."""
S3_KEYS = {"AWS_ACCESS_KEY_ID": "homeval-test", "AWS_SECRET_ACCESS_KEY": "homeval-test-secret"}
"""What the homeval-s3 Secret holds (any pair: moto checks none)."""
CONFIG_MAP = REPO / "manifests/base/config/config.yaml"


def cluster_env(**loopback: str) -> dict[str, str]:
    """The ConfigMap's environment with its in-cluster addresses replaced by loopback ones.

    Only keys the ConfigMap has may be replaced: a test cannot configure a container by a
    variable the cluster would not give it.
    """
    data = {str(k): str(v) for k, v in yaml.safe_load(CONFIG_MAP.read_text())["data"].items()}
    unknown = set(loopback) - set(data)
    assert not unknown, f"not keys of homeval-config: {sorted(unknown)}"
    return {**data, **loopback}


def s3_client(url: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=S3_KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_KEYS["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture(scope="session")
def s3_url() -> Iterator[str]:
    """An S3 API on loopback (moto in server mode), with the bucket MLflow writes to."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    s3_client(url).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


def mlflow_server_args(port: int, backend: str) -> list[str]:
    """The MLflow Deployment's container args, with the port and backend URL filled in."""
    deployment = yaml.safe_load((REPO / "manifests/base/mlflow/deployment.yaml").read_text())
    containers = deployment["spec"]["template"]["spec"]["containers"]
    (container,) = [c for c in containers if c["name"] == "mlflow"]  # not its auth proxy
    args = []
    for arg in container["args"]:
        arg = arg.replace("$(MLFLOW_BACKEND_STORE_URI)", backend)
        if arg.startswith("--port="):
            arg = f"--port={port}"
        if arg.startswith("--allowed-hosts="):
            arg = f"{arg},127.0.0.1:{port}"
        args.append(arg)
    return args


@contextlib.contextmanager
def mlflow_server(image: str, s3_url: str, backend: str) -> Iterator[str]:
    """The homeval-mlflow container as its Deployment runs it (PostgreSQL backend,
    artifacts proxied to S3); yields its URL."""
    port = free_port()
    env = {"MLFLOW_S3_ENDPOINT_URL": s3_url, **S3_KEYS}
    backend = backend.replace("postgresql://", "postgresql+psycopg://")
    url = f"http://127.0.0.1:{port}"
    with detached(image, env, *mlflow_server_args(port, backend)) as server:
        server.wait_http(f"{url}/health", timeout=180)
        yield url


# --- one pipeline run in containers, shared by the model-path and monitoring tests

FEED_BATCH = 2000
BATCHES = 6
"""The run collects about 12,000 generated rows: enough to pass the data gate with its
threshold lowered below (a run parameter, as the Airflow DAG sends it)."""


@dataclass(frozen=True)
class Stack:
    """The services of one pipeline run, and what it left in the registry."""

    mlflow_url: str
    s3_url: str
    listings: pd.DataFrame
    promoted: str
    """The version the pipeline run promoted (alias production)."""
    other: str
    """A second version, registered from outside, that no alias names."""


@pytest.fixture(scope="session")
def stack(
    built: Callable[[str], str],
    s3_url: str,
    postgres_server_url: str,
    realtor_files: list[Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    from homeval.platform.settings import Settings
    from pipelines.local_run import run_locally

    images = {part: built(part) for part in ("components", "datasource", "mlflow")}
    with (
        scratch_database(postgres_server_url, prefix="homeval_images_store") as store_url,
        scratch_database(postgres_server_url, prefix="homeval_images_mlflow") as backend,
        mlflow_server(images["mlflow"], s3_url, backend) as mlflow_url,
    ):
        feed_port = free_port()
        feed_env = {"HOMEVAL_DATASOURCE_PORT": str(feed_port),
                    "HOMEVAL_DATASOURCE_BATCH_SIZE": str(FEED_BATCH)}  # fmt: skip
        with detached(images["datasource"], feed_env) as feed:
            feed_url = f"http://127.0.0.1:{feed_port}"
            feed.wait_http(f"{feed_url}/health")
            # a step gets the ConfigMap (cluster addresses -> loopback) and the Secrets
            step_env = cluster_env(
                HOMEVAL_FEED_URL=feed_url,
                MLFLOW_TRACKING_URI=mlflow_url,
                MLFLOW_S3_ENDPOINT_URL=s3_url,
            ) | {"HOMEVAL_DATABASE_URL": store_url, **S3_KEYS}
            home = tmp_path_factory.mktemp("pipeline")
            settings = Settings(
                home=home,
                database_url=store_url,
                mlflow_tracking_uri=mlflow_url,
                component_image=images["components"],
            )
            lines: list[str] = []
            result = run_locally(
                settings,
                {"collect_max_batches": BATCHES, "min_clean_rows": 5_000},
                on_line=lines.append,
                container_env=step_env,
            )
            log = "\n".join(lines[-80:])
            assert result.succeeded, f"{result.error}\n{log}"
            decisions = result.decisions
            # the feed's batches overlap by a few listings, which collect keeps once
            assert FEED_BATCH * (BATCHES - 1) < decisions.collected_rows <= FEED_BATCH * BATCHES
            assert decisions.trained, (decisions, log)
            assert decisions.promoted, (decisions, log)
            assert decisions.model_version is not None
        listings = real_listings(realtor_files)
        with mlflow_at(mlflow_url):
            registry = Registry(tmp_path_factory.mktemp("registry"), mlflow_url, listings)
            other = register(registry, small_model(listings), "lightgbm", None)
        yield Stack(mlflow_url, s3_url, listings, decisions.model_version, other)
