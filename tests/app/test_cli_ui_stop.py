"""`hub ui` stops what `dagster dev` started: its child runs in its own process group, and a stop escalates from
SIGINT (as Ctrl-C) to SIGTERM and SIGKILL for the whole group, grandchildren included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from app.cli import stop_process_group, wait_until_stopped

# a parent that starts two grandchildren: one that stops at SIGINT, one that ignores SIGINT and SIGTERM
TREE = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    stubborn = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    stubborn += "signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(600)"
    kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]),
            subprocess.Popen([sys.executable, "-c", stubborn], stdout=subprocess.PIPE)]
    kids[1].stdout.readline()
    print(" ".join(str(k.pid) for k in kids), flush=True)
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")
def test_a_stop_reaches_every_process_the_child_started():
    child = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert child.stdout is not None
    grandchildren = [int(p) for p in child.stdout.readline().split()]
    assert len(grandchildren) == 2 and all(_alive(p) for p in grandchildren)
    stop_process_group(child, grace=(1.0, 1.0, 5.0))
    assert child.returncode is not None
    assert not any(_alive(p) for p in grandchildren)  # the one ignoring SIGINT and SIGTERM too
    with pytest.raises(ProcessLookupError):
        os.killpg(child.pid, 0)


def test_stopping_a_group_that_is_already_gone_returns_at_once():
    child = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    child.wait()
    stop_process_group(child)  # no error, no wait


def test_a_sigterm_while_waiting_stops_the_group_without_waiting_out_the_grace():
    """`hub ui` waits on its child when the SIGTERM comes: the stop must reap the child, not take it for alive."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    before = signal.getsignal(signal.SIGTERM)
    started = time.monotonic()
    assert wait_until_stopped(child) == -signal.SIGINT  # stopped by the first signal, as Ctrl-C would
    assert time.monotonic() - started < 15  # not the 20 s grace of SIGINT waited out with the child unreaped
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is put back
    with pytest.raises(ProcessLookupError):
        os.killpg(child.pid, 0)
