"""`python -m connectors.fluvius.sandbox [--port N] [--seed N] [--tenant T ...] [--receiver URL]`: serve a
sandbox premium portal until Ctrl-C, printing each tenant's demo client and regeling."""

from __future__ import annotations

import argparse
import json
import time

from connectors.fluvius.sandbox.server import SANDBOX, start_demo
from hub.config import SANDBOX_TENANTS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m connectors.fluvius.sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--tenant", action="append", dest="tenants")
    parser.add_argument("--receiver", default=None, help="the hub's receiver base URL (webhooks)")
    args = parser.parse_args(argv)
    tenants = args.tenants or [t for t, _ in SANDBOX_TENANTS]
    running = start_demo(tenants, seed=args.seed, port=args.port, receiver_url=args.receiver)
    print(json.dumps(SANDBOX.describe(running), indent=2))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        running.stop()


if __name__ == "__main__":
    main()
