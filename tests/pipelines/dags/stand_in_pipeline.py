"""A two-parameter pipeline compiled with the kfp SDK, for the tests that need a pipeline
lacking some threshold (the real one takes them all).

No ``from __future__ import annotations`` here: kfp reads the component's annotations as
real types.
"""

from pathlib import Path

from kfp import compiler, dsl


@dsl.component(base_image="python:3.11-slim", install_kfp_package=False)
def gate(min_clean_rows: int, drift_share_threshold: float) -> bool:
    return min_clean_rows >= 0 and drift_share_threshold >= 0


@dsl.pipeline(name="homeval-stand-in")
def stand_in(min_clean_rows: int = 20_000, drift_share_threshold: float = 0.5) -> None:
    gate(min_clean_rows=min_clean_rows, drift_share_threshold=drift_share_threshold)


def compile_stand_in(path: Path) -> Path:
    compiler.Compiler().compile(stand_in, str(path))
    return path
