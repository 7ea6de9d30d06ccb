"""The mart's Parquet copies published to object storage: each build under a prefix of its own, then the
`LATEST` pointer moved, so a reader that follows the pointer never mixes two builds' tables.

The target is a directory: a bucket mounted into the pod (an S3 or Azure Blob CSI driver, s3fs, blobfuse) or
one that an rclone/azcopy step mirrors. `python -m hub.mart.objectstore SRC TARGET` (docs/deployment.md)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LATEST = "LATEST"


@dataclass(frozen=True)
class Published:
    build: str
    path: Path
    tables: tuple[str, ...]
    bytes: int
    removed: tuple[str, ...]


def builds(target: Path) -> list[str]:
    """The complete builds under `target`, oldest first (a partial copy is hidden until it is whole)."""
    if not target.is_dir():
        return []
    return sorted(p.name for p in target.iterdir() if p.is_dir() and not p.name.startswith("."))


def latest(target: Path) -> Path | None:
    """The build `LATEST` points at, or None before the first publish."""
    pointer = target / LATEST
    if not pointer.exists():
        return None
    return target / pointer.read_text(encoding="utf-8").strip()


def publish_parquet(parquet_dir: Path, target: Path, build: str | None = None, keep: int = 7) -> Published:
    """Copy every `<table>.parquet` of `parquet_dir` to `target/<build>/`, then point `target/LATEST` at it and
    remove all but the newest `keep` builds (never the one LATEST names). `build` defaults to the UTC time.
    Raises FileNotFoundError when `parquet_dir` holds no Parquet file (nothing published, LATEST unchanged)
    and FileExistsError when the build is there already."""
    if keep < 1:
        raise ValueError("keep must be at least 1: LATEST needs its build")
    files = sorted(parquet_dir.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no Parquet files in {parquet_dir}: build the mart first (mart_job)")
    build = build or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    dest = target / build
    if dest.exists():
        raise FileExistsError(f"build {build} is published already at {dest}")
    target.mkdir(parents=True, exist_ok=True)
    partial = target / f".{build}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    size = 0
    for f in files:
        shutil.copyfile(f, partial / f.name)
        size += f.stat().st_size
    partial.rename(dest)
    # the pointer moves last and in one step: before it, readers still follow the previous build, whole
    pointer_tmp = target / f".{LATEST}.{os.getpid()}"
    pointer_tmp.write_text(build + "\n", encoding="utf-8")
    os.replace(pointer_tmp, target / LATEST)
    removed = tuple(b for b in builds(target)[:-keep] if b != build)
    for old in removed:
        shutil.rmtree(target / old)
    return Published(build, dest, tuple(f.stem for f in files), size, removed)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hub.mart.objectstore", description=__doc__.split("\n")[0])
    p.add_argument("source", type=Path, help="the mart's Parquet folder ($HUB_HOME/mart/parquet)")
    p.add_argument("target", type=Path, help="the mounted bucket (or a folder an rclone step mirrors)")
    p.add_argument("--keep", type=int, default=7, help="builds kept (default 7)")
    args = p.parse_args(argv)
    try:
        out = publish_parquet(args.source, args.target, keep=args.keep)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(json.dumps({"published": False, "error": str(exc)}))
        return 2
    print(json.dumps({"published": True, "build": out.build, "tables": len(out.tables), "bytes": out.bytes}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
