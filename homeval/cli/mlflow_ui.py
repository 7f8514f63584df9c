"""``python -m homeval.cli.mlflow_ui``: MLflow's web UI for the local platform, in one process.

``mlflow server`` keeps a parent process alive (~250 MB: MLflow's CLI with its stores
loaded) only to forward signals to the uvicorn process it starts, which serves the UI.
``homeval up`` starts that server the way the parent starts it — MLflow's own ASGI app
(``mlflow.server.fastapi_app:app``) in uvicorn, told where the stores are through the
environment variables ``mlflow.server`` names for it — and so runs one process instead
of two.  The store is created and migrated before (``homeval.registry.production_version``), as
the parent would do.  A cluster runs ``mlflow server`` as usual (manifests/base/mlflow).
"""

from __future__ import annotations

import argparse
import os
import sys

APP = "mlflow.server.fastapi_app:app"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m homeval.cli.mlflow_ui", description=__doc__)
    parser.add_argument("--backend-store-uri", required=True)
    parser.add_argument("--default-artifact-root", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)

    import uvicorn
    from mlflow.server import (
        ARTIFACT_ROOT_ENV_VAR,
        BACKEND_STORE_URI_ENV_VAR,
        REGISTRY_STORE_URI_ENV_VAR,
    )

    # read by the app when it first opens its stores, so set before it is imported
    os.environ[BACKEND_STORE_URI_ENV_VAR] = args.backend_store_uri
    os.environ[REGISTRY_STORE_URI_ENV_VAR] = args.backend_store_uri
    os.environ[ARTIFACT_ROOT_ENV_VAR] = args.default_artifact_root
    uvicorn.run(APP, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
