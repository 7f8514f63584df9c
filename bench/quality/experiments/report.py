"""Markdown tables of the results*.json files, with paired deltas vs the baseline.

Run: python bench/quality/experiments/report.py  (prints; NOTES.md quotes its output)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BASELINE = "baseline (homeval today)"


def table(path: Path) -> list[str]:
    res = json.loads(path.read_text())
    base = res[BASELINE]["per_seed"]
    lines = [
        "| variant | MdAPE all | Δ vs baseline (paired) | R²log all | Δ R²log (paired) "
        "| MdAPE houses | R²log houses | MdAPE land | R²log land | fit s/seed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in res.items():
        runs = r["per_seed"]
        dm = [a["all_mdape"] - b["all_mdape"] for a, b in zip(runs, base, strict=True)]
        dr = [a["all_r2log"] - b["all_r2log"] for a, b in zip(runs, base, strict=True)]

        def ms(k: str, pct: bool = True, r: dict = r) -> str:
            m, s = r[k]
            return f"{m:.1%} ± {s:.1%}" if pct else f"{m:.3f} ± {s:.3f}"

        lines.append(
            f"| {name} | {ms('all_mdape')} | {np.mean(dm) * 100:+.1f} ± {np.std(dm) * 100:.1f} pt "
            f"| {ms('all_r2log', False)} | {np.mean(dr):+.3f} ± {np.std(dr):.3f} "
            f"| {ms('houses_mdape')} | {ms('houses_r2log', False)} | {ms('land_mdape')} "
            f"| {ms('land_r2log', False)} | {r['seconds_per_seed']:.1f} |"
        )
    return lines


if __name__ == "__main__":
    for f, title in (
        (
            "results_shipped_defaults.json",
            "run.py's rows after the acreage repair, on the shipped defaults (extra trees, mcs 5)",
        ),
        ("results_current.json", "run.py's rows as they are now (the copy naming its broker wins)"),
        ("results.json", "run.py's rows before that de-duplication change"),
        ("results_full_first.json", "full-schema file ingested first (brokers kept)"),
    ):
        print(f"### {title}\n")
        print("\n".join(table(HERE / f)))
        print()
