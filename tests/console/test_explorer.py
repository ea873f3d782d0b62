"""The audit explorer: filters, an entry's chain proof against the registry key, verify now, and
an export that the unit's own ``fieldface audit verify --file`` accepts (and refuses once edited)."""

from __future__ import annotations

import json
import re

from device.audit.export import verify_export
from device.audit.signing import parse_public_key
from device.central import console_queries
from tests.console.conftest import form_token, login


def test_filters(demo, console):
    store, _backend, units, _config = demo
    rows = console_queries.search(store, {"unit": "unit-south", "user": "ex3", "action": "search"}, None, None, 1000)
    south = units["unit-south"]
    assert rows and all(u == "unit-south" and e.actor == "ex3" and e.action == "search" for u, _ep, _s, e in rows)
    # Both epochs: the lost range's searches (epoch 0) and the new timeline's (epoch 1).
    assert {ep for _u, ep, _s, _e in rows} == {0, 1}
    first_day = south.entries[0].at[:10]
    day = console_queries.search(store, {"unit": "unit-south"}, first_day, first_day + "T99", 1000)
    assert day and all(e.at.startswith(first_day) for *_x, e in day)
    client = login(console, "auditor")
    html = client.get("/explorer?unit=unit-east&action=search&outcome=ok").get_data(as_text=True)
    assert "unit-east" in html and "Proof of unit-east entry" in html and "unit-north" not in html.split("Entries")[1]
    actions = [e.action for e in console.extensions["fieldface_console"]["log"].entries(limit=1000)]
    assert "explorer.search" in actions


def test_an_entry_with_its_chain_proof(console):
    client = login(console, "auditor")
    html = client.get("/explorer/unit-north/0/5").get_data(as_text=True)
    assert 'Content matches its hash</dt><dd class="ok">yes' in html
    assert ">intact<" in html and ">verifies<" in html and ">links<" in html
    # An entry of a restored unit's lost range is proved against that epoch's own signed head.
    south = client.get("/api/v1/units").json["units"]
    lost = next(u for u in south if u["unit"] == "unit-south")["epochs"][1]["lost"]
    html = client.get(f"/explorer/unit-south/0/{lost[0]}").get_data(as_text=True)
    assert ">intact<" in html and ">verifies<" in html


def test_verify_now(console):
    client = login(console, "supervisor")
    html = client.post("/explorer/unit-south/verify", data={"csrf_token": form_token(client)}).get_data(as_text=True)
    assert "chain verified" in html and "in 2 epoch(s)" in html


def test_the_export_verifies_with_the_units_key_and_an_edit_is_named(demo, console, tmp_path, run_cli):
    _store, _backend, units, _config = demo
    client = login(console, "auditor")
    south = units["unit-south"]
    key_hex = south.signer.public_key_hex
    for epoch in (0, 1):
        r = client.get(f"/explorer/unit-south/export?epoch={epoch}")
        assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
        lines = r.get_data(as_text=True).splitlines(keepends=True)
        report = verify_export(lines, parse_public_key(key_hex))
        assert report.problems == [], (epoch, report.problems)
    # A period: from a day on, to the signed head.
    day = south.entries[40].at[:10]
    lines = client.get(f"/explorer/unit-north/export?from={day}").get_data(as_text=True)
    header = json.loads(lines.splitlines()[0])
    assert header["after"] > 0
    path = tmp_path / "north.jsonl"
    path.write_text(lines)
    north_key = units["unit-north"].signer.public_key_hex
    ok = run_cli("audit", "verify", "--file", str(path), "--public-key", north_key)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    edited = re.sub(r'"candidates":20', '"candidates":2', lines, count=1)
    path.write_text(edited)
    bad = run_cli("audit", "verify", "--file", str(path), "--public-key", north_key)
    assert bad.returncode == 6 and "edited" in bad.stdout + bad.stderr
    # Another unit's key does not verify it.
    path.write_text(lines)
    wrong = run_cli("audit", "verify", "--file", str(path), "--public-key", key_hex)
    assert wrong.returncode == 6
    assert "explorer.export" in [e.action for e in console.extensions["fieldface_console"]["log"].entries(limit=1000)]


def test_the_console_log_is_chained_and_append_only(demo, console):
    _store, backend, _units, _config = demo
    client = login(console, "admin")
    client.get("/fleet")  # raises the demo's alerts: rows in alerts_raised
    html = client.get("/console-log").get_data(as_text=True)
    assert "Chain intact" in html and "login" in html
    clog = console.extensions["fieldface_console"]["log"]
    entries = clog.entries(limit=1000)
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert all(e.device == "console:central" for e in entries)
    db = console.extensions["fieldface_console"]["db"]
    for sql in ("UPDATE console_log SET actor = 'x'", "DELETE FROM console_log", "DELETE FROM alerts_raised"):
        message = ""
        try:
            with db.connection() as conn, db.transaction(conn):
                conn.execute(sql)
        except Exception as exc:  # noqa: BLE001 - the driver's own class differs per backend
            message = str(exc)
        # SQLite: the trigger; PostgreSQL: the console role may not even try (INSERT only).
        assert "append-only" in message or "permission denied" in message, (sql, message)
    assert clog.verify() == []
    # An edit by the owner (who could drop the trigger) is named by verify.
    if backend.dialect == "sqlite":
        conn = backend.connect()
        conn.raw.execute("DROP TRIGGER console_log_no_update")
        conn.raw.execute("UPDATE console_log SET body = replace(body, '\"at\":\"2', '\"at\":\"1') WHERE seq = ?",
                         (entries[-1].seq,))  # fmt: skip
        conn.commit()
        conn.close()
        assert any("edited" in p for p in clog.verify())


def test_the_console_role_on_postgresql_reads_and_writes_only_its_own(demo):
    _store, backend, _units, _config = demo
    if backend.dialect != "postgresql":
        return
    from device.central.store import CentralStore, PostgresBackend

    console_store = CentralStore(backend)
    auditor = CentralStore(PostgresBackend(backend.where.replace("fieldface_console@", "fieldface_auditor@")))
    try:
        assert console_store.query("SELECT count(*) FROM audit_entries")[0][0] > 0
        refused = (
            "INSERT INTO alerts VALUES ('now', 'u', 'k', 'd')",
            "UPDATE unit_status SET state = 'x'",
            "DELETE FROM audit_entries",
            "INSERT INTO units VALUES ('u', 'n', 'k', '{}', 'now', 'me')",
        )
        for sql in refused:
            try:
                console_store.write(sql)
                raise AssertionError(f"the console role could: {sql}")
            except Exception as exc:  # noqa: BLE001
                assert "permission denied" in str(exc), (sql, exc)
        # Password hashes and session secrets are the console's alone.
        for table in ("users", "sessions"):
            try:
                auditor.query(f"SELECT * FROM {table}")  # noqa: S608
                raise AssertionError(f"the auditor role reads {table}")
            except Exception as exc:  # noqa: BLE001
                auditor._conn.rollback()
                assert "permission denied" in str(exc)
    finally:
        console_store.close()
        auditor.close()
