"""``backup``, ``restore``: an encrypted copy of the data dir, and a new data dir made from one."""

from __future__ import annotations

import getpass
import time
from pathlib import Path

from device.errors import FieldfaceError


def register(sub) -> None:
    p = sub.add_parser("backup", help="write an encrypted, consistent backup of the data dir (while it runs)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="the backup file (must not exist)")
    p.set_defaults(handler=cmd_backup)

    p = sub.add_parser("restore", help="make a new data dir from a backup (needs the unit's master secret)")
    p.add_argument("file", type=Path, metavar="FILE", help="a file written by 'fieldface backup'")
    # Its own dest: a subparser default would overwrite the global --data-dir.
    p.add_argument("--data-dir", dest="restore_to", type=Path, metavar="DIR",
                   help="where to restore (must not exist or be empty; default: the configured data dir)")  # fmt: skip
    p.add_argument("--key-file", type=Path, metavar="PATH", help="read the secret from this file")
    p.set_defaults(handler=cmd_restore)


def _actor() -> str:
    return f"os:{getpass.getuser()}"


def cmd_backup(ctx, args) -> int:
    from device.audit import AuditLog
    from device.backup import write_backup

    store = ctx.store
    started = time.monotonic()
    audit = AuditLog(store)
    try:
        try:
            info = write_backup(store, args.out)
        except FieldfaceError as exc:
            audit.record("store.backup", actor=_actor(), role="cli", object=f"backup:{args.out.name}",
                         outcome="failed", details={"reason": str(exc)[:200]})  # fmt: skip
            raise
        audit.record("store.backup", actor=_actor(), role="cli", object=f"backup:{args.out.name}",
                     details={"bytes": info.bytes, "audit_head": info.audit_head})  # fmt: skip
    finally:
        audit.close()
    print(f"{info.path}: {info.bytes} bytes, encrypted (database {info.db_bytes} bytes, audit up to entry "
          f"{info.audit_head}) in {time.monotonic() - started:.1f} s")  # fmt: skip
    return 0


def cmd_restore(ctx, args) -> int:
    from device.backup import restore_backup
    from device.gallery.restore_gate import describe
    from device.keys import ENV_KEY_FILE, obtain_secret

    # --key-file alone, so that a credential in the environment cannot take its place.
    env = {ENV_KEY_FILE: str(args.key_file)} if args.key_file else ctx.env
    secret = obtain_secret(ctx.config.keys, env)
    target = args.restore_to or ctx.data_dir
    started = time.monotonic()
    store, manifest = restore_backup(args.file, target, secret, ctx.config, actor=_actor())
    gate = describe(store)
    store.lock()
    print(f"restored {target} from {args.file} (device {manifest['device_id']}, taken {manifest['created_at']}, "
          f"verified) in {time.monotonic() - started:.1f} s")  # fmt: skip
    if gate:
        print(f"searches refused until the erasure orders issued since are applied: {gate}")
    return 0
