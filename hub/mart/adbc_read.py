"""Queries read as Arrow through an ADBC driver, several at once (the drivers release the GIL while they read).
No hub imports: run as a script (`python hub/mart/adbc_read.py` with a JSON spec on stdin) it streams the
record batches to stdout as they are read, which is how the mart reads a SQLite store (hub/mart/extract.py says
why: another SQLite library in the process).

The driver manager's own API, not its DB-API layer: that layer imports pyarrow.dataset and with it pandas, a
second of start-up for a child that only moves batches.

The stream on stdout: per record batch a JSON line `{"name": …}` and then the batch as an Arrow IPC stream;
`{"end": true}` closes it. A query that returns no rows still sends one empty batch (its columns)."""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

Query = tuple[str, str, list[Any]]  # (name, sql, parameters)
BATCH_ROWS = 65536  # rows per batch from SQLite (its driver's default is 1,024: thousands of tiny chunks)


def split(name: str, batch: pa.RecordBatch) -> list[tuple[str, pa.RecordBatch]]:
    """Rows of entities as one part per kind (`entities:<kind>`), each a filter of its rows: each kind is then
    parsed from its own rows, not by a scan of every row per kind. Other parts pass as they are."""
    if name != "entities":
        return [(name, batch)]
    kinds = batch.column("entity")
    return [(f"{name}:{k}", batch.filter(pc.equal(kinds, k))) for k in sorted(pc.unique(kinds).to_pylist())]


def _database(driver: str, uri: str) -> Any:
    if driver == "sqlite":
        import adbc_driver_sqlite

        return adbc_driver_sqlite.connect(uri)
    import adbc_driver_postgresql

    return adbc_driver_postgresql.connect(uri)


def _batches(db: Any, driver: str, sql: str, params: list[Any]) -> Iterator[pa.RecordBatch]:
    import adbc_driver_manager as dm

    conn = dm.AdbcConnection(db)
    try:
        if driver == "sqlite":  # parallel readers may meet at SQLite's file lock while they open: wait
            pragma = dm.AdbcStatement(conn)
            pragma.set_sql_query("PRAGMA busy_timeout = 30000")
            handle, _ = pragma.execute_query()
            pa.RecordBatchReader._import_from_c(handle.address).read_all()
            pragma.close()
        stmt = dm.AdbcStatement(conn)
        try:
            if driver == "sqlite":
                stmt.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
            stmt.set_sql_query(sql)
            if params:
                stmt.bind(pa.record_batch([pa.array([p]) for p in params], names=[str(i) for i in range(len(params))]))
            handle, _ = stmt.execute_query()
            reader = pa.RecordBatchReader._import_from_c(handle.address)
            sent = False
            for batch in reader:
                if batch.num_rows:
                    sent = True
                    yield batch
            if not sent:
                yield _empty(reader.schema)
        finally:
            stmt.close()
    finally:
        conn.close()


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)


def stream(driver: str, uri: str, queries: list[Query], workers: int = 0) -> Iterator[tuple[str, pa.RecordBatch]]:
    """(name, batch) as the queries' batches arrive, the entities split by kind (`split`); each query on its own
    connection, as many at once as the machine has cores (at least two). A failed query raises here."""
    workers = workers or max(2, os.cpu_count() or 2)
    out: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=4 * workers)
    todo: queue.Queue[Query] = queue.Queue()
    for q in queries:
        todo.put(q)
    db = _database(driver, uri)
    stop = threading.Event()

    def work() -> None:
        try:
            while not stop.is_set():
                try:
                    name, sql, params = todo.get_nowait()
                except queue.Empty:
                    break
                for batch in _batches(db, driver, sql, params):
                    for part in split(name, batch):  # in the worker: beside the other reads
                        out.put(part)
                    if stop.is_set():
                        break
        except BaseException as exc:  # handed to the consumer, raised there
            out.put(("\x00error", exc))
        finally:
            out.put(("\x00done", None))

    threads = [threading.Thread(target=work, daemon=True) for _ in range(min(workers, len(queries)) or 1)]
    for th in threads:
        th.start()
    running = len(threads)
    try:
        while running:
            name, item = out.get()
            if name == "\x00done":
                running -= 1
            elif name == "\x00error":
                raise item
            else:
                yield name, item
    finally:
        stop.set()
        while running:  # let the workers finish what they hold (they stop at their next batch)
            if out.get()[0] == "\x00done":
                running -= 1
        for th in threads:
            th.join()
        db.close()


def main() -> None:
    spec = json.load(sys.stdin)
    sink = sys.stdout.buffer
    for name, batch in stream(spec["driver"], spec["uri"], [(q[0], q[1], q[2]) for q in spec["queries"]]):
        sink.write((json.dumps({"name": name}) + "\n").encode())
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
    sink.write(b'{"end": true}\n')
    sink.flush()


if __name__ == "__main__":
    main()
