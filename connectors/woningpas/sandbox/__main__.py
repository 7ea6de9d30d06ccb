"""`python -m connectors.woningpas.sandbox [--port N] [--dwellings N] [--tenant T ...] [--mandate-share F]`:
serve a sandbox Woningpas until Ctrl-C, printing its URL, issuer and each demo client's key file."""

from __future__ import annotations

import argparse
import json
import time

from connectors.woningpas.sandbox.server import SANDBOX, start_demo
from hub.config import SANDBOX_TENANTS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m connectors.woningpas.sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dwellings", type=int, default=200)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--tenant", action="append", dest="tenants")
    parser.add_argument("--mandate-share", type=float, default=0.2)
    args = parser.parse_args(argv)
    tenants = args.tenants or [t for t, _ in SANDBOX_TENANTS]
    running = start_demo(
        tenants, dwellings=args.dwellings, seed=args.seed, port=args.port, mandate_share=args.mandate_share
    )
    print(json.dumps(SANDBOX.describe(running), indent=2))
    print(json.dumps(running.sandbox.world.summary()))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        running.stop()


if __name__ == "__main__":
    main()
