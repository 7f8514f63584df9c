#!/usr/bin/env python3
"""Build every homeval image on this machine: ``make images``.

The GitHub Actions workflow builds the same Dockerfiles with buildx and pushes them;
this is the path for a laptop, a CI box or an air-gapped machine. Three steps:

1. **engine** — a Docker engine must answer. When none does, Debian's ``docker.io`` is
   installed (apt) and ``dockerd`` is started in the background; its pid and log go to
   ``.homeval/dockerd/`` so the caller can stop exactly what was started.
2. **bases** — each base image the Dockerfiles name (``python:3.11-slim-bookworm``, the
   Airflow and MLflow images) is used when present, pulled when a registry answers, and
   otherwise replaced by a *stand-in* built from Debian packages: ``debootstrap`` of
   bookworm with Debian's Python 3.11, trusting the build host's CA bundle (builds behind
   a TLS-intercepting proxy then reach PyPI), imported with ``docker import``; the Airflow
   and MLflow stand-ins are small Dockerfiles on top of it (``scripts/standins/``).
3. **build** — every image of ``scripts/bump_image_tags.py``'s list, tagged
   ``homeval-<part>:<tag>`` (``--tag``, default ``dev``), with ``BASE_IMAGE`` set to the
   base found or made in step 2.

Exit codes: 0 built, 1 a build or a tool failed (its output is shown), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from bump_image_tags import IMAGES  # noqa: E402

STANDINS = REPO / "scripts" / "standins"
STATE = Path(os.environ.get("HOMEVAL_HOME", REPO / ".homeval")) / "dockerd"
DEBIAN_MIRROR = os.environ.get("HOMEVAL_DEBIAN_MIRROR", "http://deb.debian.org/debian")
"""Where debootstrap fetches bookworm for the Python stand-in (a mirror may replace it)."""
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
"""Extra CAs of the build host (a proxy's, a company's): the stand-ins trust them too."""
AIRFLOW_VERSION = "3.3.2"
MLFLOW_VERSION = "3.17.2"


def recipe_digest() -> str:
    """Digest of everything the stand-ins are made from."""
    parts = [inspect.getsource(build_python_standin), APT_DOCKER_CLEAN, DEBIAN_MIRROR]
    parts += [path.read_text() for path in sorted(STANDINS.glob("*.Dockerfile"))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:10]


class ImagesError(RuntimeError):
    """A tool failed: reported as one paragraph, exit code 1."""


APT_DOCKER_CLEAN = """\
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""  # noqa: E501
"""The official Debian images' apt setting: no package caches left in image layers."""


@dataclass(frozen=True)
class Base:
    """A base image a Dockerfile names, and what replaces it when it cannot be pulled."""

    arg_of: tuple[str, ...]
    """The image parts whose ``BASE_IMAGE`` build argument this base fills."""
    upstream: str
    standin_name: str
    recipe: str | None
    """Dockerfile under scripts/standins/ built on the Python stand-in; None: debootstrap."""

    @property
    def standin(self) -> str:
        """The stand-in's reference, tagged with its recipe's digest: a changed recipe
        makes a new stand-in instead of reusing the one built by the old recipe."""
        return f"{self.standin_name}-r{recipe_digest()}"


PYTHON = Base(
    ("components", "inference", "ui", "datasource"),
    "python:3.11-slim-bookworm",
    "homeval-standin/python:3.11-bookworm",
    None,
)
BASES = (
    PYTHON,
    Base(
        ("airflow",),
        f"apache/airflow:{AIRFLOW_VERSION}-python3.11",
        f"homeval-standin/airflow:{AIRFLOW_VERSION}-python3.11",
        "airflow.Dockerfile",
    ),
    Base(
        ("mlflow",),
        f"ghcr.io/mlflow/mlflow:v{MLFLOW_VERSION}",
        f"homeval-standin/mlflow:v{MLFLOW_VERSION}",
        "mlflow.Dockerfile",
    ),
)


def run(cmd: Sequence[str], *, quiet: bool = False, **kwargs: object) -> None:
    """Run a tool; on failure raise with the tail of what it printed."""
    print("+ " + " ".join(cmd), flush=True)
    if quiet:
        proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-30:]
            raise ImagesError(f"{cmd[0]} failed ({proc.returncode}):\n" + "\n".join(tail))
        return
    if subprocess.run(cmd, **kwargs).returncode != 0:  # type: ignore[call-overload]
        raise ImagesError(f"failed: {' '.join(cmd)}")


def engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def apt_install(packages: Sequence[str]) -> None:
    if shutil.which("apt-get") is None:
        raise ImagesError(f"missing {', '.join(packages)}: install them with your package manager")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = [*sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
        run([*sudo, "apt-get", "update", "-q"], quiet=True, env=env)
        run(cmd, quiet=True, env=env)


def ensure_engine(timeout: float = 60.0) -> int | None:
    """Make a Docker engine answer; the pid of the dockerd started here, None if one ran."""
    if engine_answers():
        return None
    if shutil.which("dockerd") is None:
        print("no Docker engine: installing Debian's docker.io", flush=True)
        apt_install(["docker.io"])
    STATE.mkdir(parents=True, exist_ok=True)
    log = (STATE / "dockerd.log").open("ab")
    proc = subprocess.Popen(
        ["dockerd"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    (STATE / "dockerd.pid").write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while not engine_answers():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise ImagesError(f"dockerd did not start; its log: {STATE / 'dockerd.log'}")
        time.sleep(0.5)
    print(f"started dockerd (pid {proc.pid}; stop it with: kill {proc.pid})", flush=True)
    return proc.pid


def have_image(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0


def pull(ref: str) -> bool:
    proc = subprocess.run(["docker", "pull", "-q", ref], capture_output=True, text=True)
    return proc.returncode == 0


def build_python_standin(ref: str) -> None:
    """Debian bookworm + Python 3.11, shaped like python:3.11-slim for our Dockerfiles.

    ``python``/``python3``/``pip`` on PATH, ``pip install`` allowed system-wide (as in the
    official image), groupadd/useradd present, apt pointed at the mirror, and the host's
    extra CAs trusted by the system bundle, pip, requests and uv.
    """
    if shutil.which("debootstrap") is None:
        apt_install(["debootstrap"])
    with tempfile.TemporaryDirectory(prefix="homeval-standin-") as tmp:
        root = Path(tmp) / "rootfs"
        packages = "python3.11,python3.11-venv,python3-pip,python-is-python3,ca-certificates"
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={packages}",
                "bookworm",
                str(root),
                DEBIAN_MIRROR,
            ],
            quiet=True,
        )
        extra = root / "usr/local/share/ca-certificates"
        extra.mkdir(parents=True, exist_ok=True)
        for crt in sorted(HOST_CA_DIR.glob("*.crt")) if HOST_CA_DIR.is_dir() else []:
            shutil.copy2(crt, extra / crt.name)
        run(["chroot", str(root), "update-ca-certificates"], quiet=True)
        for junk in (
            "var/cache/apt",
            "var/lib/apt/lists",
            "usr/share/doc",
            "usr/share/man",
            "usr/share/locale",
            "usr/share/info",
        ):
            shutil.rmtree(root / junk, ignore_errors=True)
        (root / "etc/apt/apt.conf.d/docker-clean").write_text(APT_DOCKER_CLEAN)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True)
        (root / "var/lib/apt/lists/partial").mkdir(parents=True)
        bundle = "/etc/ssl/certs/ca-certificates.crt"
        changes = [
            "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin",
            "ENV LANG=C.UTF-8",
            "ENV PIP_BREAK_SYSTEM_PACKAGES=1",
            f"ENV SSL_CERT_FILE={bundle}",
            f"ENV PIP_CERT={bundle}",
            f"ENV REQUESTS_CA_BUNDLE={bundle}",
            'CMD ["python3"]',
        ]
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        args = ["docker", "import"]
        for change in changes:
            args += ["--change", change]
        run([*args, "-", ref], quiet=True, stdin=tar.stdout)
        if tar.wait() != 0:
            raise ImagesError("tar of the stand-in root filesystem failed")


def resolve_bases(parts: Sequence[str], *, standin_only: bool = False) -> dict[str, str]:
    """Image part -> the base image to build it on (present, pulled or a stand-in), for
    ``parts`` (the Python base is always resolved: the other stand-ins build on it)."""
    chosen: dict[str, str] = {}
    for base in BASES:
        if base is not PYTHON and not set(base.arg_of) & set(parts):
            continue
        if not standin_only and (have_image(base.upstream) or pull(base.upstream)):
            ref = base.upstream
        else:
            ref = base.standin
            if not have_image(ref):
                print(f"{base.upstream} cannot be pulled: building the stand-in {ref}", flush=True)
                if base.recipe is None:
                    build_python_standin(ref)
                else:
                    run(
                        [
                            "docker",
                            "build",
                            "-q",
                            "-t",
                            ref,
                            "--build-arg",
                            f"BASE_IMAGE={chosen[PYTHON.arg_of[0]]}",
                            "--build-arg",
                            f"AIRFLOW_VERSION={AIRFLOW_VERSION}",
                            "--build-arg",
                            f"MLFLOW_VERSION={MLFLOW_VERSION}",
                            "-f",
                            str(STANDINS / base.recipe),
                            str(STANDINS),
                        ],
                        quiet=True,
                    )
        for part in base.arg_of:
            chosen[part] = ref
    return chosen


def build(parts: Sequence[str], tag: str, bases: dict[str, str], quiet: bool) -> list[str]:
    """Build the images of ``parts``; returns their references."""
    refs = []
    for part in parts:
        ref = f"homeval-{part}:{tag}"
        started = time.monotonic()
        run(
            [
                "docker",
                "build",
                "-t",
                ref,
                "--build-arg",
                f"BASE_IMAGE={bases[part]}",
                "-f",
                str(REPO / IMAGES[part]),
                str(REPO),
            ],
            quiet=quiet,
        )
        print(f"built {ref} in {time.monotonic() - started:.0f} s", flush=True)
        refs.append(ref)
    return refs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "parts",
        nargs="*",
        metavar="PART",
        help=f"images to build (default all: {', '.join(IMAGES)})",
    )
    parser.add_argument("--tag", default="dev", help="image tag (default dev)")
    parser.add_argument(
        "--standin",
        action="store_true",
        help="use the Debian stand-ins even when the upstream bases can be pulled",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="show a build's output only if it fails"
    )
    parser.add_argument("--json", action="store_true", help="print the built references as JSON")
    args = parser.parse_args(argv)
    unknown = [p for p in args.parts if p not in IMAGES]
    if unknown:
        parser.error(f"unknown image part(s) {', '.join(unknown)}; known: {', '.join(IMAGES)}")
    try:
        ensure_engine()
        parts = args.parts or list(IMAGES)
        bases = resolve_bases(parts, standin_only=args.standin)
        refs = build(parts, args.tag, bases, args.quiet)
    except ImagesError as exc:
        print(f"images: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(refs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
