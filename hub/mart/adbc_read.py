"""Queries read as Arrow through an ADBC driver, several at once (the drivers release the GIL while they read).
No hub imports: run as a script (`python hub/mart/adbc_read.py` with a JSON spec on stdin) it streams the
tables to stdout in Arrow's IPC format, which is how the mart reads a SQLite store (hub/mart/extract.py says
why: another SQLite library in the process)."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa

Query = tuple[str, str, list[Any]]  # (name, sql, parameters)


def _connect(driver: str, uri: str) -> Any:
    if driver == "sqlite":
        import adbc_driver_sqlite.dbapi as sqlite

        return sqlite.connect(uri)
    import adbc_driver_postgresql.dbapi as postgresql

    return postgresql.connect(uri)


def read(driver: str, uri: str, queries: list[Query], workers: int = 4) -> list[tuple[str, pa.Table]]:
    """Each query on its own connection, in parallel; (name, table) in the queries' order."""

    def one(q: Query) -> tuple[str, pa.Table]:
        name, sql, params = q
        conn = _connect(driver, uri)
        try:
            cur = conn.cursor()
            if driver == "sqlite":  # parallel readers may meet at SQLite's file lock while they open: wait
                cur.execute("PRAGMA busy_timeout = 30000")
                cur.fetchall()
            cur.execute(sql, params)
            table = cur.fetch_arrow_table()
            cur.close()
        finally:
            conn.close()
        return name, table

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, queries))


def main() -> None:
    spec = json.load(sys.stdin)
    parts = read(spec["driver"], spec["uri"], [(q[0], q[1], q[2]) for q in spec["queries"]])
    sink = sys.stdout.buffer
    sink.write((json.dumps([name for name, _ in parts]) + "\n").encode())
    for _, table in parts:
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    sink.flush()


if __name__ == "__main__":
    main()
