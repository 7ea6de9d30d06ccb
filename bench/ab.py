"""A/B: one benchmark of this tree against an earlier commit, interleaved A B A B on the same machine, medians
and the ratio B/A per row. The machines are shared and noisy, so only a side-by-side ratio means something.

    python bench/ab.py --base 9fa2ac8 --rounds 3 --key rows_per_kind sensor --metric p50_ms \\
        --script sensor_ticks.py -- --sizes 1000 10000

The base is checked out into a temporary git worktree (removed afterwards); both sides run with this
checkout's virtualenv, each importing its own tree. Prints a table and writes bench/results/ab_<script>.json."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run(tree: Path, script: str, args: list[str]) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(
        [sys.executable, str(tree / "bench" / script), *args], cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL
    )
    data = json.loads((tree / "bench" / "results" / (Path(script).stem + ".json")).read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = data["results"] if isinstance(data, dict) else data
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the commit to compare against (A)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--key", nargs="+", required=True, help="the fields that name a row")
    ap.add_argument("--metric", nargs="+", required=True, help="the numbers to compare")
    ap.add_argument("--alias", nargs="*", default=[], help="NEW=OLD: a row value renamed between the two trees")
    ap.add_argument("--script", required=True, help="a script in bench/; its own arguments follow `--`")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    a = ap.parse_args(argv[:split])
    a.args = argv[split + 1 :]
    aliases = dict(pair.split("=", 1) for pair in a.alias)
    samples: dict[str, dict[tuple[Any, ...], dict[str, list[float]]]] = {"A": {}, "B": {}}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(base), a.base], cwd=ROOT, check=True)
        try:
            for _ in range(a.rounds):
                for side, tree in (("A", base), ("B", ROOT)):
                    for row in run(tree, a.script, a.args):
                        key = tuple(aliases.get(row.get(k), row.get(k)) for k in a.key)
                        per = samples[side].setdefault(key, {})
                        for m in a.metric:
                            if isinstance(row.get(m), int | float):
                                per.setdefault(m, []).append(float(row[m]))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    out = []
    print(f"{' / '.join(a.key):<36} {'metric':<14} {'A (base) median':>16} {'B (this) median':>16} {'B/A':>7}")
    for key, per in samples["B"].items():
        for m, values in per.items():
            base_values = samples["A"].get(key, {}).get(m)
            if not base_values:
                continue
            ma, mb = statistics.median(base_values), statistics.median(values)
            ratio = round(mb / ma, 3) if ma else None
            out.append(
                {
                    "row": list(key),
                    "metric": m,
                    "a_median": ma,
                    "b_median": mb,
                    "ratio": ratio,
                    "a": base_values,
                    "b": values,
                }
            )
            print(f"{' / '.join(str(k) for k in key):<36} {m:<14} {ma:>16.2f} {mb:>16.2f} {ratio!s:>7}")
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    target = results / f"ab_{Path(a.script).stem}.json"
    target.write_text(
        json.dumps({"base": a.base, "rounds": a.rounds, "args": a.args, "rows": out}, indent=2), encoding="utf-8"
    )
    print(f"\nwrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
