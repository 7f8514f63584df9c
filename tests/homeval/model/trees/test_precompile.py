"""compile_ahead fills the numba cache an image ships."""

from __future__ import annotations

from pathlib import Path


def test_compile_ahead_fills_the_cache_a_served_forest_then_loads(tmp_path: Path) -> None:
    """What the predictor image does at build time (compile_ahead into NUMBA_CACHE_DIR),
    then what a predictor does at start: a forest of another size and another model
    finds every loop it runs in that cache and compiles nothing."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "NUMBA_DEBUG_CACHE": "1"}
    ahead = (
        "from homeval.model.explain import FEATURE_PLAYER\n"
        "from homeval.model.trees.precompile import compile_ahead\n"
        "compile_ahead(FEATURE_PLAYER)\n"
    )
    subprocess.run([sys.executable, "-c", ahead], env=env, check=True, capture_output=True)
    assert list(tmp_path.glob("*/*.nbi")), "compile_ahead cached nothing"
    serve = (
        "import lightgbm, numpy as np\n"
        "from homeval.model.explain import FEATURE_PLAYER\n"
        "from homeval.model.trees.flatten import from_lightgbm\n"
        "x = np.random.default_rng(1).normal(size=(500, len(FEATURE_PLAYER)))\n"
        "b = lightgbm.train({'num_leaves': 31, 'verbose': -1}, lightgbm.Dataset(x, x[:, 1]), 30)\n"
        "forest = from_lightgbm(b, FEATURE_PLAYER)\n"
        "forest.warm_up()\n"
        "forest.predict(x, threads=2)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", serve], env=env, check=True, capture_output=True, text=True
    )
    log = done.stdout + done.stderr
    assert "[cache] data loaded" in log
    assert "[cache] data saved" not in log, log[-2000:]
