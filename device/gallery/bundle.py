"""The wire format of what an agency sends its units: gallery bundles and erasure orders.

Shared by both ends (central builds, the unit verifies; neither imports the other). One container:

    b"FFBUNDLE1\\n" | u32 envelope length | envelope JSON | chunk 0 | chunk 1 | ...

The envelope is ``{"manifest": {...}, "sig": hex}``; the signature is the agency's Ed25519 over
``DOMAIN + canonical(manifest)``. The manifest names everything the unit checks before it writes:
the agency key, the kind (``bundle`` or ``erasure``), gallery, version and base (a delta applies
to a unit holding at least ``base``), the models whose scores the agency accepts, and for each
chunk its size and SHA-256. A bundle's payload is encrypted with a random content key
(AES-256-GCM per chunk, the chunk's place bound as associated data); the content key is wrapped
for each addressed unit's X25519 key (ephemeral-static ECDH, HKDF-SHA256, AES-GCM), so only
those units can read it. An erasure order has no payload: it names a reference, never a face.

The plaintext payload is a stream of records, each ``u32 length | JSON`` optionally followed by
the image bytes the JSON announces (``images[i].size``): ``{"op": "put", "reference", ...}`` or
``{"op": "remove", "reference"}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from device.audit.entry import canonical
from device.audit.signing import parse_public_key, signature_valid
from device.errors import UsageError

MAGIC = b"FFBUNDLE1\n"
FORMAT = "fieldface-bundle/1"
DOMAIN = b"fieldface-bundle/1\n"
WRAP_INFO = b"fieldface-bundle-wrap/1"
CHUNK_BYTES = 1 << 20
MAX_ENVELOPE = 64 << 20  # a manifest of a very large fleet and many orders, still bounded
MAX_RECORD = 1 << 20
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


class BundleError(UsageError):
    """A bundle or order refused: the message says why; nothing was written."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def x25519_public_text(key: X25519PrivateKey) -> str:
    return "x25519:" + key.public_key().public_bytes(*_RAW).hex()


def parse_x25519(text: str) -> X25519PublicKey:
    try:
        raw = bytes.fromhex(str(text).removeprefix("x25519:"))
        if len(raw) != 32:
            raise ValueError
        return X25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise UsageError(f"not an X25519 public key (x25519:<64 hex>): {str(text)[:80]!r}") from None


def agency_public_text(key: Ed25519PrivateKey) -> str:
    return "ed25519:" + key.public_key().public_bytes(*_RAW).hex()


def manifest_hash(manifest: dict) -> str:
    """The bundle's (or order's) identity: what audit entries and acknowledgements name."""
    return hashlib.sha256(DOMAIN + canonical(manifest)).hexdigest()


# ---- building (central) -----------------------------------------------------------------------


def _kek(shared: bytes, unit: str, epk: bytes, unit_pub: bytes) -> bytes:
    info = WRAP_INFO + b"|" + unit.encode() + b"|" + epk + unit_pub
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


def wrap_key(content_key: bytes, units: dict[str, str]) -> dict:
    """``{"epk": hex, "units": {unit: {"nonce", "wrapped"}}}`` for units ``{unit: "x25519:..."}``."""
    eph = X25519PrivateKey.generate()
    epk = eph.public_key().public_bytes(*_RAW)
    out = {}
    for unit, pub_text in sorted(units.items()):
        pub = parse_x25519(pub_text)
        kek = _kek(eph.exchange(pub), unit, epk, pub.public_bytes(*_RAW))
        nonce = secrets.token_bytes(12)
        out[unit] = {"nonce": b64(nonce), "wrapped": b64(AESGCM(kek).encrypt(nonce, content_key, unit.encode()))}
    return {"epk": epk.hex(), "units": out}


def _chunk_aad(manifest_id: str, index: int) -> bytes:
    return f"{FORMAT}|{manifest_id}|{index}".encode()


def _nonce(index: int) -> bytes:
    return b"\0\0\0\0" + struct.pack(">Q", index)  # a fresh content key per bundle: counters never repeat


def record(doc: dict, blobs: Iterable[bytes] = ()) -> bytes:
    body = canonical(doc)
    return struct.pack(">I", len(body)) + body + b"".join(blobs)


def seal_payload(plain: bytes, content_key: bytes, manifest_id: str) -> list[bytes]:
    """The payload cut into chunks, each sealed with its place; ``manifest_id`` ties them to one
    gallery version, so chunks of another bundle never decrypt here."""
    aead = AESGCM(content_key)
    pieces = [plain[i : i + CHUNK_BYTES] for i in range(0, len(plain), CHUNK_BYTES)] or [b""]
    return [aead.encrypt(_nonce(i), piece, _chunk_aad(manifest_id, i)) for i, piece in enumerate(pieces)]


def chunk_id(manifest: dict) -> str:
    return f"{manifest['gallery']}@{manifest['version']}/{manifest['nonce']}"


def sign(manifest: dict, key: Ed25519PrivateKey) -> dict:
    return {"manifest": manifest, "sig": key.sign(DOMAIN + canonical(manifest)).hex()}


def pack(envelope: dict, chunks: list[bytes]) -> bytes:
    body = canonical(envelope)
    return MAGIC + struct.pack(">I", len(body)) + body + b"".join(chunks)


# ---- reading (unit) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    manifest: dict
    sig: str
    chunks: list[bytes]
    hash: str

    @property
    def kind(self) -> str:
        return self.manifest["kind"]


def unpack(data: bytes, what: str = "file") -> Parsed:
    """The container split and every chunk checked against the manifest's size and SHA-256.
    Signature and addressee are checked by ``verify``."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        raise BundleError(f"{what} is not a fieldface bundle or erasure order")
    (length,) = struct.unpack(">I", data[len(MAGIC) : len(MAGIC) + 4])
    start = len(MAGIC) + 4
    if length > MAX_ENVELOPE or start + length > len(data):
        raise BundleError(f"{what}: the manifest is truncated")
    try:
        envelope = json.loads(data[start : start + length])
        manifest, sig = envelope["manifest"], envelope["sig"]
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(sig, str):
            raise ValueError("unknown format")
        kind = manifest["kind"]
        chunks_meta = manifest.get("chunks", [])
        if kind not in ("bundle", "erasure") or not isinstance(chunks_meta, list):
            raise ValueError("unknown kind")
        sizes = [int(c["size"]) for c in chunks_meta]
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{what}: the manifest is damaged ({exc})") from None
    offset, chunks = start + length, []
    for index, (size, meta) in enumerate(zip(sizes, chunks_meta, strict=True)):
        piece = data[offset : offset + size]
        if len(piece) != size:
            raise BundleError(f"{what}: chunk {index} is truncated ({len(piece)} of {size} bytes); nothing was changed")
        if hashlib.sha256(piece).hexdigest() != meta.get("sha256"):
            raise BundleError(f"{what}: chunk {index} does not match its hash (altered); nothing was changed")
        chunks.append(piece)
        offset += size
    if offset != len(data):
        raise BundleError(f"{what}: {len(data) - offset} bytes after the last chunk; nothing was changed")
    return Parsed(manifest, sig, chunks, manifest_hash(manifest))


def verify(parsed: Parsed, trusted: list[str], what: str = "file") -> None:
    """The agency's signature, by a key this unit trusts (``fieldface gallery trust``)."""
    if not trusted:
        raise BundleError("this unit trusts no agency key yet: run 'fieldface gallery trust FILE' first")
    agency = str(parsed.manifest.get("agency", ""))
    if agency not in trusted:
        raise BundleError(f"{what} is signed by {agency[:24]}..., a key this unit does not trust; nothing was changed")
    if not signature_valid(parse_public_key(agency), DOMAIN + canonical(parsed.manifest), parsed.sig):
        raise BundleError(f"{what}: the agency signature does not verify (forged or altered); nothing was changed")


def unwrap_key(manifest: dict, unit: str, private: X25519PrivateKey) -> bytes:
    keys = manifest.get("keys") or {}
    slot = (keys.get("units") or {}).get(unit)
    if slot is None:
        addressed = ", ".join(sorted(keys.get("units") or {})) or "nobody"
        raise BundleError(f"this bundle is not for unit {unit} (addressed to: {addressed[:200]}); nothing was changed")
    try:
        epk = bytes.fromhex(keys["epk"])
        unit_pub = private.public_key().public_bytes(*_RAW)
        shared = private.exchange(X25519PublicKey.from_public_bytes(epk))
        kek = _kek(shared, unit, epk, unit_pub)
        return AESGCM(kek).decrypt(unb64(slot["nonce"]), unb64(slot["wrapped"]), unit.encode())
    except (InvalidTag, ValueError, KeyError, TypeError):
        raise BundleError(f"this bundle's key for unit {unit} does not open with this unit's key") from None


def open_payload(parsed: Parsed, content_key: bytes) -> bytes:
    aead, mid, out = AESGCM(content_key), chunk_id(parsed.manifest), []
    for index, chunk in enumerate(parsed.chunks):
        try:
            out.append(aead.decrypt(_nonce(index), chunk, _chunk_aad(mid, index)))
        except InvalidTag:
            raise BundleError(f"chunk {index} does not decrypt (altered or from another bundle)") from None
    return b"".join(out)


def records(plain: bytes) -> Iterator[tuple[dict, list[bytes]]]:
    """``(record, image bytes)`` in order; BundleError on a malformed stream."""
    offset = 0
    while offset < len(plain):
        if offset + 4 > len(plain):
            raise BundleError("the payload ends inside a record")
        (length,) = struct.unpack(">I", plain[offset : offset + 4])
        if length > MAX_RECORD or offset + 4 + length > len(plain):
            raise BundleError("the payload has a damaged record")
        try:
            doc = json.loads(plain[offset + 4 : offset + 4 + length])
            sizes = [int(i["size"]) for i in doc.get("images", [])]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise BundleError("the payload has a damaged record") from None
        offset += 4 + length
        blobs = []
        for size in sizes:
            if size < 0 or offset + size > len(plain):
                raise BundleError("the payload ends inside an image")
            blobs.append(plain[offset : offset + size])
            offset += size
        yield doc, blobs
