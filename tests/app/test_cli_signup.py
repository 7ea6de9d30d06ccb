"""`hub signup` queues sign-ups from JSON lines once per key and refuses malformed lines with their number."""

from __future__ import annotations

import json

from app.cli import main
from hub.config import HubPaths
from hub.store import Store
from hub.store import tables as t


def test_signup_file_is_queued_once_per_key(tmp_path, monkeypatch, hub_home, capsys):
    monkeypatch.chdir(tmp_path)
    good = {"key": "web-0001", "last_name": "Jansen", "number": "4", "postcode": "1681AB", "campaign_id": 11}
    lines = [json.dumps(good), json.dumps(good), '{"key": "x"}', ""]
    f = tmp_path / "signups.jsonl"
    f.write_text("\n".join(lines), encoding="utf-8")
    assert main(["signup", str(f), "--tenant", "coop-noord"]) == 1  # one bad line → non-zero exit
    out = capsys.readouterr()
    assert "queued 2 sign-up(s) for coop-noord; 1 line(s) refused" in out.out
    assert "line 3: not a valid sign-up" in out.err
    store = Store.open(HubPaths.from_env().database_url())
    assert store.count(t.outbox, tenant="coop-noord", operation="webform-signup") == 1  # the same key once
    store.dispose()
