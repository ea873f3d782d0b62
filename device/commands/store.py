"""``init``, ``status``, ``rekey``: the life of an encrypted data dir."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from device import __version__
from device.commands.output import emit
from device.errors import FieldfaceError, LockedError
from device.keys import new_passphrase, obtain_secret, read_new_key_file
from device.keys import rekey as rekey_slots
from device.store import init_data_dir, open_store
from device.store.migrations import latest_version


def register(sub) -> None:
    p = sub.add_parser("init", help="create a new encrypted data dir (refuses an existing one)")
    p.add_argument("--device-id", default="", help="device id (default: from config, else random)")
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("status", help="unlock and show version, schema and contents")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("rekey", help="change the key or passphrase that unlocks the data dir")
    p.add_argument("--new-key-file", type=Path, metavar="PATH", help="new key file (default: prompt for a passphrase)")
    p.set_defaults(handler=cmd_rekey)


def _init_secret(ctx):
    """The credential or key file if one is set up, else a new passphrase typed twice."""
    try:
        return obtain_secret(ctx.config.keys, ctx.env, interactive=False)
    except LockedError:
        if not sys.stdin.isatty():
            raise
    return new_passphrase(ctx.config.keys)


def cmd_init(ctx, args) -> int:
    secret = _init_secret(ctx)
    store = init_data_dir(ctx.data_dir, secret, ctx.config, device_id=args.device_id)
    _audit(store, "store.init", details={"key_source": secret.source, "version": __version__})
    print(f"created encrypted data dir {store.data_dir} (device {store.meta()['device_id']}, key from {secret.source})")
    return 0


def _audit(store, action: str, outcome: str = "ok", details: dict | None = None) -> None:
    """Key events are audited; the CLI has no app login, so the actor is the OS account."""
    from device.audit import AuditLog

    log = AuditLog(store)
    try:
        log.record(action, actor=f"os:{getpass.getuser()}", role="cli", object=f"data-dir:{store.data_dir}",
                   outcome=outcome, details=details)  # fmt: skip
    finally:
        log.close()


def cmd_status(ctx, args) -> int:
    from device.gallery.restore_gate import describe
    from device.sync.state import summary

    store = ctx.store
    meta = store.meta()
    sync = summary(store)
    data = {
        "version": __version__,
        "data_dir": str(store.data_dir),
        "device_id": meta.get("device_id"),
        "created_at": meta.get("created_at"),
        "schema": {"version": store.schema_version(), "latest": latest_version()},
        "key_source": store.keyring.source,
        "counts": store.counts(),
        "sync": sync,
        "restore_gate": describe(store),
    }
    lines = [
        f"fieldface {data['version']}",
        f"data dir:   {data['data_dir']} (unlocked with {data['key_source']})",
        f"device id:  {data['device_id']}",
        f"created:    {data['created_at']}",
        f"schema:     {data['schema']['version']} (latest {data['schema']['latest']})",
        "contents:   " + ", ".join(f"{name} {n}" for name, n in data["counts"].items()),
    ]
    if data["restore_gate"]:
        lines.append(f"searches:   refused: {data['restore_gate']}")
    if not sync:
        lines.append("sync:       never acknowledged by a receiver")
    for dest, s in sync.items():
        lines.append(
            f"sync:       {dest}: acked up to seq {s['acked_seq']} of {s['head_seq']} "
            f"(backlog {s['backlog']}), last ack {s['last_ack_at'] or 'not recorded'}"
        )
        if s["last_problem"]:
            lines.append(f"            last problem {s['last_problem_at']}: {s['last_problem']}")
    emit(data, args.json, lines)
    return 0


def cmd_rekey(ctx, args) -> int:
    current = obtain_secret(ctx.config.keys, ctx.env)
    store = open_store(ctx.data_dir, current, ctx.config)  # a damaged store is found before we touch the key
    try:
        if args.new_key_file:
            new = read_new_key_file(args.new_key_file)
        else:
            new = new_passphrase(ctx.config.keys)
        rekey_slots(ctx.data_dir, current, new, ctx.config.keys)
    except FieldfaceError as exc:
        _audit(store, "key.rekey", outcome="failed", details={"reason": str(exc)[:200]})
        raise
    # Same root key after a rekey, so the store opened with the old secret can still record it.
    _audit(store, "key.rekey", details={"old_source": current.source, "new_source": new.source})
    print(f"key changed for {ctx.data_dir}: the old {current.source} no longer unlocks it")
    return 0
