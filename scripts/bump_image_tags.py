#!/usr/bin/env python3
"""Point the cluster manifests and the compiled pipeline at freshly built homeval images.

Run by the images workflow after every build on the default branch, so what Argo CD
deploys is always the images that were just built and tested. Three kinds of files
name the images, and each is edited in place as text (comments and layout survive):

* kustomize ``images:`` entries under ``manifests/`` (``newTag``, and ``newName`` when a
  registry is given),
* the Airflow chart values (``defaultAirflowRepository`` / ``defaultAirflowTag``),
* the compiled KFP pipeline, whose component image is matched by name and retagged.

Subcommands (exit 2 with a message on bad input, 1 when a file would not parse back):

* ``matrix``: the images whose Dockerfile exists, as JSON for a GitHub Actions matrix;
* ``tag --ref-name R --default-branch B --sha S [--date YYYYMMDD] [--ref-type tag]``: the
  image tag;
* ``bump --tag T [--registry R]``: rewrite the files; prints what changed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REGISTRY = "ghcr.io/homeval"

IMAGES: dict[str, str] = {
    "components": "components/Dockerfile",
    "inference": "inference/Dockerfile",
    "ui": "ui/Dockerfile",
    "datasource": "datasource/Dockerfile",
    "airflow": "pipelines/dags/Dockerfile",
    "mlflow": "manifests/images/mlflow/Dockerfile",
}
"""Image part -> its Dockerfile (build context: the repository root). The image is
``<registry>/homeval-<part>``."""

PIPELINE = "pipelines/house_price_pipeline.yaml"
AIRFLOW_VALUES = "manifests/base/airflow/values.yaml"

TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
"""What Docker accepts as a tag."""
REGISTRY_RE = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*")


class UsageError(ValueError):
    """Bad input from the caller: reported as one line, exit code 2."""


@dataclass(frozen=True)
class Change:
    path: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}: {self.what}"


def image_name(part: str, registry: str = DEFAULT_REGISTRY) -> str:
    return f"{registry.rstrip('/')}/homeval-{part}"


def matrix(root: Path = REPO) -> list[dict[str, str]]:
    """Images that can be built now (a Dockerfile exists), for ``strategy.matrix.include``."""
    return [
        {"part": part, "image": f"homeval-{part}", "dockerfile": dockerfile}
        for part, dockerfile in IMAGES.items()
        if (root / dockerfile).is_file()
    ]


RELEASE_RE = re.compile(r"v?(\d+\.\d+\.\d+(?:[-+.][0-9A-Za-z.-]+)?)")


def image_tag(
    ref_name: str,
    default_branch: str,
    sha: str,
    date: dt.date | None = None,
    *,
    ref_type: str = "branch",
) -> str:
    """``YYYYMMDD-<short sha>`` on the default branch, the version of a release tag
    (``v0.2.0`` → ``0.2.0``, what the production overlay pins), the branch name (made
    tag-safe) elsewhere."""
    if not re.fullmatch(r"[0-9a-f]{7,40}", sha):
        raise UsageError(f"--sha must be a hex commit id, got {sha!r}")
    if not ref_name:
        raise UsageError("--ref-name is empty")
    if ref_type == "tag":
        release = RELEASE_RE.fullmatch(ref_name)
        if release is None:
            raise UsageError(f"git tag {ref_name!r} is not a release like v1.2.3")
        return release.group(1)
    if ref_name == default_branch:
        day = date or dt.datetime.now(dt.UTC).date()
        return f"{day:%Y%m%d}-{sha[:7]}"
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", ref_name).strip("-.")[:128]
    if not tag or not TAG_RE.fullmatch(tag):
        raise UsageError(f"branch {ref_name!r} gives no valid image tag")
    return tag


def check_tag(tag: str) -> str:
    if not TAG_RE.fullmatch(tag):
        raise UsageError(
            f"--tag {tag!r} is not a valid image tag (letters, digits, _ . -, at most 128, "
            "not starting with . or -)"
        )
    return tag


def check_registry(registry: str) -> str:
    registry = registry.strip().rstrip("/")
    if not REGISTRY_RE.fullmatch(registry):
        raise UsageError(f"--registry {registry!r} is not a registry path like ghcr.io/owner")
    return registry


# --- editors: each takes a file's text and returns (new text, what changed) ---------------

Editor = Callable[[str, str, "str | None"], tuple[str, list[str]]]

_PART = "|".join(re.escape(p) for p in IMAGES)


def bump_kustomization(text: str, tag: str, registry: str | None) -> tuple[str, list[str]]:
    """Retag the homeval entries of a kustomization's ``images:`` list, line by line."""
    lines = text.splitlines(keepends=True)
    changes: list[str] = []
    in_images = False
    part: str | None = None
    entry_indent = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if not stripped or stripped.startswith("#"):
            continue
        if indent == 0:
            in_images = stripped == "images:"
            part = None
            continue
        if not in_images:
            continue
        entry = re.match(r"-\s+name:\s*(\S+)", stripped)
        if entry:
            found = re.search(rf"/homeval-({_PART})$", entry.group(1).strip("'\""))
            part = found.group(1) if found else None
            entry_indent = indent + 2
            continue
        if part is None or indent != entry_indent:
            continue
        key = re.match(r"(newTag|newName):\s*(.*?)\s*$", stripped)
        if not key:
            continue
        field, old = key.group(1), key.group(2).strip("'\"")
        if field == "newTag":
            new = tag
        elif registry:
            new = image_name(part, registry)
        else:
            continue
        if new != old:
            lines[i] = f"{' ' * indent}{field}: {new}\n"
            changes.append(f"homeval-{part} {field} {old} -> {new}")
    return "".join(lines), changes


def bump_airflow_values(text: str, tag: str, registry: str | None) -> tuple[str, list[str]]:
    """Retag the Airflow image in the chart values (top-level keys only)."""
    changes: list[str] = []

    def sub(key: str, value: str, text: str) -> str:
        pattern = re.compile(rf"^{key}:[ \t]*(\S*)[ \t]*$", re.MULTILINE)
        found = pattern.search(text)
        if found is None:
            raise UsageError(f"{AIRFLOW_VALUES} has no top-level {key}")
        old = found.group(1).strip("'\"")
        if old != value:
            changes.append(f"{key} {old} -> {value}")
        return pattern.sub(f"{key}: {value}", text, count=1)

    text = sub("defaultAirflowTag", tag, text)
    if registry:
        text = sub("defaultAirflowRepository", image_name("airflow", registry), text)
    return text, changes


def bump_pipeline(text: str, tag: str, registry: str | None) -> tuple[str, list[str]]:
    """Retag every reference to the component image in the compiled pipeline."""
    pattern = re.compile(
        r"(?P<name>[A-Za-z0-9.:_/-]*/homeval-components)"
        r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]*))?(?:@sha256:[0-9a-f]{64})?"
    )
    changes: list[str] = []

    def replace(found: re.Match[str]) -> str:
        name = image_name("components", registry) if registry else found.group("name")
        new = f"{name}:{tag}"
        if found.group(0) != new:
            changes.append(f"{found.group(0)} -> {new}")
        return new

    return pattern.sub(replace, text), changes


def _parses(path: Path, text: str) -> None:
    import yaml  # only the bump needs it; matrix and tag run on a bare Python

    try:
        list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise RuntimeError(f"{path} would not parse after the edit: {exc}") from exc


def bump(root: Path, tag: str, registry: str | None = None) -> list[Change]:
    """Rewrite every file that names a homeval image; returns the changes made."""
    tag = check_tag(tag)
    registry = check_registry(registry) if registry else None
    editors: list[tuple[Path, Callable[[str, str, str | None], tuple[str, list[str]]]]] = [
        (path, bump_kustomization)
        for path in sorted((root / "manifests").rglob("kustomization.yaml"))
    ]
    editors.append((root / AIRFLOW_VALUES, bump_airflow_values))
    if (root / PIPELINE).is_file():
        editors.append((root / PIPELINE, bump_pipeline))
    planned: list[tuple[Path, str, list[str]]] = []
    for path, edit in editors:
        if not path.is_file():
            raise UsageError(f"{path.relative_to(root)} is missing")
        old = path.read_text()
        new, what = edit(old, tag, registry)
        if new != old:
            _parses(path, new)
            planned.append((path, new, what))
    for path, new, _ in planned:  # write only once every edit is known to be sound
        path.write_text(new)
    return [Change(str(p.relative_to(root)), w) for p, _, whats in planned for w in whats]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=REPO, help="repository root")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("matrix", help="buildable images as JSON")
    tag_cmd = commands.add_parser("tag", help="the image tag for a ref")
    tag_cmd.add_argument("--ref-name", required=True)
    tag_cmd.add_argument("--default-branch", required=True)
    tag_cmd.add_argument("--sha", required=True)
    tag_cmd.add_argument("--ref-type", choices=("branch", "tag"), default="branch")
    tag_cmd.add_argument("--date", help="YYYYMMDD (default: today, UTC)")
    bump_cmd = commands.add_parser("bump", help="rewrite image tags in manifests and pipeline")
    bump_cmd.add_argument("--tag", required=True)
    bump_cmd.add_argument("--registry", help="e.g. ghcr.io/owner; also rewrites image names")
    args = parser.parse_args(argv)
    try:
        if args.command == "matrix":
            print(json.dumps(matrix(args.root)))
        elif args.command == "tag":
            date = None
            if args.date:
                try:
                    date = dt.datetime.strptime(args.date, "%Y%m%d").date()
                except ValueError:
                    raise UsageError(f"--date {args.date!r} is not YYYYMMDD") from None
            tag = image_tag(
                args.ref_name, args.default_branch, args.sha, date, ref_type=args.ref_type
            )
            print(tag)
        else:
            changes = bump(args.root.resolve(), args.tag, args.registry)
            for change in changes:
                print(change)
            if not changes:
                print(f"nothing to change: every image is already at {args.tag}")
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
