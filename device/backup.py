"""Encrypted backup of a data dir, and its restore into a new data dir.

What is in a backup: the key slots and a consistent snapshot of ``fieldface.db`` taken with
SQLite's online backup API while the unit keeps running (WAL readers do not block writers).
``cache/`` is left out: it is rebuilt from the database. The lockdown marker is left out too.

File format (``FFBACKUP1``)::

    magic "FFBACKUP1\\n" | u32 header length | header JSON | records...
    header  = {"format", "chunk", "nonce_prefix", "keyslots"}: the slots are the data dir's own
              (the root key wrapped by Argon2id + AES-GCM); nothing else is in the clear
    record  = u32 length | AES-256-GCM(ciphertext + tag)
    key     = HKDF(blob subkey, "fieldface/v1/backup"), i.e. only the unit's master secret opens it
    nonce   = nonce_prefix (8 random bytes) | u32 record index
    aad     = sha256(magic | header) | u32 record index | final flag

Record 0 is a JSON manifest (device, time, database size and sha256); the rest is the database,
and the last record carries the final flag. Reordered, cut, swapped or edited records fail the
tag, so a damaged or truncated file is refused before anything is put in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from device.errors import StoreError, WrongKeyError
from device.fsutil import fsync_dir
from device.keys import KeyRing, MasterSecret, Purpose, read_slots, unlock, write_slots
from device.store.db import DB_FILE, Store, building_new, open_store, utc_now

MAGIC = b"FFBACKUP1\n"
FORMAT = "fieldface-backup/1"
CHUNK = 1 << 20  # 1 MiB records: bounded memory on the Pi, whatever the size of the gallery
MAX_HEADER = 1 << 16
_U32 = struct.Struct(">I")


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    bytes: int
    db_bytes: int
    device_id: str
    audit_head: int


def _backup_key(ring: KeyRing) -> bytes:
    # Its own label under the blob subkey: a backup key can never open a blob, nor the reverse.
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"fieldface/v1/backup")
    return hkdf.derive(ring.subkey(Purpose.BLOBS))


def _aad(header_digest: bytes, index: int, final: bool) -> bytes:
    return header_digest + _U32.pack(index) + (b"\1" if final else b"\0")


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + _U32.pack(index)


# ---- backup -------------------------------------------------------------------------------------


def snapshot(store: Store, target: Path) -> None:
    """A consistent copy of the database into ``target`` (same SQLCipher key), online."""
    import sqlcipher3

    # Created 0600 before SQLite opens it: SQLite keeps the mode of an existing file.
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    src = store.connect()
    try:
        out = sqlcipher3.connect(str(target), isolation_level=None)
        try:
            out.execute("PRAGMA cipher_log_level = NONE")
            # Keyed like the store: the copy's pages are never plaintext on disk.
            out.execute(f"PRAGMA key = \"x'{store.keyring.subkey(Purpose.DATABASE).hex()}'\"")
            # pages=-1: the whole database in one step, i.e. one read snapshot, never a mix.
            src.backup(out, pages=-1)
        finally:
            out.close()
    except sqlcipher3.dbapi2.OperationalError as exc:
        raise StoreError(f"cannot snapshot {store.db_path}: {exc}") from None
    finally:
        src.close()


def write_backup(store: Store, out: Path) -> BackupInfo:
    """Snapshot ``store`` and write the encrypted backup to ``out`` (refuses an existing file)."""
    from device.audit import AuditLog

    out = Path(out)
    if out.exists():
        raise StoreError(f"{out} already exists; refusing to overwrite it")
    if not out.parent.is_dir():
        raise StoreError(f"cannot write {out}: {out.parent} does not exist")
    snap = out.with_name(f".{out.name}.snapshot-{os.getpid()}")
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    audit = AuditLog(store)
    try:
        head = audit.head()[0]
        snapshot(store, snap)
        db_bytes = snap.stat().st_size
        manifest = {
            "device_id": audit.device_id, "created_at": utc_now(), "db_bytes": db_bytes,
            "db_sha256": _sha256(snap), "audit_head": head, "schema": store.schema_version(),
        }  # fmt: skip
        header = json.dumps(
            {
                "format": FORMAT,
                "chunk": CHUNK,
                "nonce_prefix": secrets.token_hex(8),
                "keyslots": read_slots(store.data_dir),
            }
        ).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f, snap.open("rb") as db:
            _write_stream(f, header, _backup_key(store.keyring), json.dumps(manifest).encode(), db)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, out)  # fails if ``out`` appeared meanwhile: never overwritten
        fsync_dir(out.parent)
    except FileExistsError:
        raise StoreError(f"{out} already exists; refusing to overwrite it") from None
    except OSError as exc:
        raise StoreError(f"cannot write backup {out}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
        snap.unlink(missing_ok=True)
        audit.close()
    return BackupInfo(out, out.stat().st_size, db_bytes, manifest["device_id"], head)


def _write_stream(f: BinaryIO, header: bytes, key: bytes, manifest: bytes, db: BinaryIO) -> None:
    meta = json.loads(header)
    prefix, aead = bytes.fromhex(meta["nonce_prefix"]), AESGCM(key)
    digest = hashlib.sha256(MAGIC + header).digest()
    f.write(MAGIC + _U32.pack(len(header)) + header)
    index, pending = 0, manifest
    while True:
        following = db.read(CHUNK)
        final = not following
        sealed = aead.encrypt(_nonce(prefix, index), pending, _aad(digest, index, final))
        f.write(_U32.pack(len(sealed)) + sealed)
        if final:
            return
        index, pending = index + 1, following


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


# ---- restore ------------------------------------------------------------------------------------


def _read_header(f: BinaryIO, path: Path) -> tuple[bytes, dict]:
    if f.read(len(MAGIC)) != MAGIC:
        raise StoreError(f"{path} is not a fieldface backup")
    size = f.read(4)
    header = f.read(_U32.unpack(size)[0]) if len(size) == 4 and _U32.unpack(size)[0] <= MAX_HEADER else b""
    try:
        meta = json.loads(header)
        if meta["format"] != FORMAT or not meta["keyslots"] or len(bytes.fromhex(meta["nonce_prefix"])) != 8:
            raise ValueError("unknown format")
    except (ValueError, KeyError, TypeError):
        raise StoreError(f"{path}: the backup's header is damaged or of a format this version does not know") from None
    return header, meta


def _records(f: BinaryIO, path: Path, header: bytes, meta: dict, key: bytes) -> Iterator[bytes]:
    """Decrypted records in order; StoreError for any damage, a cut, or extra bytes."""
    aead, prefix = AESGCM(key), bytes.fromhex(meta["nonce_prefix"])
    digest = hashlib.sha256(MAGIC + header).digest()
    index = 0
    while True:
        size = f.read(4)
        length = _U32.unpack(size)[0] if len(size) == 4 else -1
        sealed = f.read(length) if 16 <= length <= int(meta["chunk"]) + 4096 else b""
        if length < 0 or len(sealed) != length:
            raise StoreError(f"{path} is truncated or damaged (record {index}); nothing was restored")
        for final in (False, True):
            try:
                plain = aead.decrypt(_nonce(prefix, index), sealed, _aad(digest, index, final))
            except InvalidTag:
                continue
            yield plain
            if final:
                if f.read(1):
                    raise StoreError(f"{path} has data after its last record; nothing was restored")
                return
            break
        else:
            raise StoreError(f"{path} is damaged (record {index} fails authentication); nothing was restored")
        index += 1


def restore_backup(path: Path, data_dir: Path, secret: MasterSecret, config, actor: str) -> tuple[Store, dict]:
    """Decrypt ``path`` into a new ``data_dir``: verified (SQLite, SQLCipher, audit chain) in a
    sibling staging folder, then renamed into place; an existing data dir is never touched."""
    path, data_dir = Path(path), Path(data_dir)
    with building_new(data_dir, "restore into") as staging:
        try:
            f = path.open("rb")
        except OSError as exc:
            raise StoreError(f"cannot read backup {path}: {exc.strerror}") from None
        with f:
            header, meta = _read_header(f, path)
            write_slots(staging, meta["keyslots"])
            try:
                ring, _ = unlock(staging, secret)
            except WrongKeyError:
                raise WrongKeyError(
                    f"the {secret.source} does not open backup {path} (wrong key); nothing was changed"
                ) from None
            manifest = _unpack(_records(f, path, header, meta, _backup_key(ring)), staging / DB_FILE, path)
            ring.wipe()
        store = open_store(staging, secret, config)
        _verify(store, manifest, path, actor)
    return Store(data_dir, store.keyring, store.config), manifest


def _unpack(records: Iterator[bytes], db_path: Path, path: Path) -> dict:
    try:
        manifest = json.loads(next(records))
    except (StopIteration, ValueError):
        raise StoreError(f"{path}: the backup's manifest is damaged; nothing was restored") from None
    h = hashlib.sha256()
    fd = os.open(db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as db:
        for block in records:
            h.update(block)
            db.write(block)
        db.flush()
        os.fsync(db.fileno())
    if h.hexdigest() != manifest.get("db_sha256"):
        raise StoreError(f"{path}: the database in the backup does not match its manifest; nothing was restored")
    return manifest


def _verify(store: Store, manifest: dict, path: Path, actor: str) -> None:
    """Every check before the data dir is put in place; the restore is its own last audit entry."""
    from device.audit import AuditLog, Draft, verify_store
    from device.audit.epoch import epoch_draft
    from device.audit.signing import parse_public_key
    from device.gallery.restore_gate import set_in

    problems = store.check_integrity()
    if problems:
        raise StoreError(
            f"{path}: the restored database fails its integrity check ({problems[0]}); nothing was restored"
        )
    audit = AuditLog(store)
    try:
        report = verify_store(audit, parse_public_key(audit.signer.public_key_hex))
        if not report.ok:
            raise StoreError(
                f"{path}: the audit log in the backup does not verify ({report.problems[0]}); nothing was restored"
            )
        if report.head_seq < int(manifest.get("audit_head", 0)):
            raise StoreError(f"{path}: the audit log in the backup ends before its manifest says; nothing was restored")
        # The restored log opens a new epoch (device/audit/epoch.py): the lost card may have gone on
        # past this head, and central may hold that; both timelines are kept there, none rewritten.
        details = {"backup_created_at": manifest.get("created_at"), "audit_head": report.head_seq}
        with store.transaction() as conn:
            # Searches wait for the agency's orders issued since the backup (device/gallery/restore_gate.py).
            gate = set_in(conn, path.name, utc_now(), actor)
            audit.append_in(conn, [epoch_draft(manifest, path.name, (report.head_seq, report.head_hash), actor),
                                   *gate, Draft("store.restore", actor, "cli", f"backup:{path.name}",
                                                details=details)])  # fmt: skip
    finally:
        audit.close()
