"""Turn the step functions into KFP lightweight components on a chosen image.

The image is a compile-time choice (``Settings.component_image`` or ``homeval pipeline
compile --image``), so components are built by a function rather than decorated at import:
the same functions compile for a laptop tag, CI's freshly built tag or a registry mirror.
``install_kfp_package=False`` because the image already has kfp (it installs homeval from
the lock), and a pip install at every step start would need the internet.
"""

from dataclasses import dataclass
from typing import Any

from kfp import dsl

from components.collect import collect
from components.drift import drift
from components.gates import gates
from components.process import process
from components.promote import promote
from components.train import train


@dataclass(frozen=True)
class Components:
    """The pipeline's components, all on one image."""

    collect: Any
    process: Any
    gates: Any
    drift: Any
    train: Any
    promote: Any


def build_components(image: str) -> Components:
    """Every step as a KFP component whose container runs ``image``."""
    if not image or any(c.isspace() for c in image):
        raise ValueError(f"component image must be an image reference, got {image!r}")

    def make(func: Any) -> Any:
        return dsl.component(func, base_image=image, install_kfp_package=False)

    return Components(
        collect=make(collect),
        process=make(process),
        gates=make(gates),
        drift=make(drift),
        train=make(train),
        promote=make(promote),
    )
