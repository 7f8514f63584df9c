"""Compile the pipeline to KFP's IR YAML, the file a cluster runs unchanged.

The committed ``pipelines/house_price_pipeline.yaml`` is this function's output for the
image it names; the images workflow retags that image in place after each build
(``scripts/bump_image_tags.py``), so "is it stale?" means "does compiling for the image
it names give the same text", see ``image_of``.
"""

import re
import tempfile
from pathlib import Path
from typing import Final

from kfp import compiler

from pipelines.house_price import make_pipeline

PACKAGE: Final = Path(__file__).resolve().parent / "house_price_pipeline.yaml"
"""Where the compiled pipeline is committed."""

_IMAGE: Final = re.compile(r"^\s+image: (?P<image>\S+)\s*$", re.MULTILINE)


def compile_text(image: str) -> str:
    """The compiled pipeline for ``image``, as text."""
    with tempfile.TemporaryDirectory(prefix="homeval-compile-") as folder:
        target = Path(folder) / "pipeline.yaml"
        compiler.Compiler().compile(make_pipeline(image), str(target))
        return target.read_text(encoding="utf-8")


def compile_pipeline(image: str, output: Path = PACKAGE) -> Path:
    """Write the compiled pipeline for ``image`` to ``output``; returns the path."""
    text = compile_text(image)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    return output


def image_of(text: str) -> str:
    """The one component image a compiled pipeline names (all steps share it)."""
    images = set(_IMAGE.findall(text))
    if len(images) != 1:
        raise ValueError(f"expected one component image in the pipeline, found {sorted(images)}")
    return images.pop()
