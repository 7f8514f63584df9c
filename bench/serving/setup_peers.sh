#!/usr/bin/env bash
# Peers of the serving benchmark, each in its own virtualenv (never in the project lock):
#   .venv-bench-mlserver  Seldon MLServer 1.7.1 + its LightGBM runtime (uvloop<0.22: 1.7.1
#                         breaks with newer uvloop), same LightGBM as the project.
# `mlflow models serve` and the plain KServe peer run from the project's .venv (mlflow and
# kserve are project dependencies already). Safe to repeat.
set -euo pipefail
cd "$(dirname "$0")/../.."
export UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1
export PATH="$HOME/.local/bin:$PATH"  # where scripts/install-uv.sh puts uv
command -v uv >/dev/null || scripts/install-uv.sh
lightgbm=$(.venv/bin/python -c "import lightgbm; print(lightgbm.__version__)")
numpy=$(.venv/bin/python -c "import numpy; print(numpy.__version__)")
if [[ ! -x .venv-bench-mlserver/bin/mlserver ]]; then
    uv venv --allow-existing --python 3.11 .venv-bench-mlserver
    uv pip install --python .venv-bench-mlserver/bin/python \
        "mlserver==1.7.1" "mlserver-lightgbm==1.7.1" "uvloop<0.22" \
        "lightgbm==${lightgbm}" "numpy<2.3"
fi
.venv-bench-mlserver/bin/mlserver --version
echo "peers ready (project lightgbm ${lightgbm}, numpy ${numpy})"
