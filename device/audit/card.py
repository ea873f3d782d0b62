"""A unit's card: what central needs to know a unit (``fieldface unit-card``).

    {"format": "fieldface-unit-card/1", "unit": id, "name": ..., "audit_key": "ed25519:<hex>",
     "created_at": ..., "sig": ...}

Signed with the audit key it carries (its own domain), which proves that whoever made the card
holds that key; it does not prove which box that is, which is why a card is carried to central by
a person, like a certificate request. ``bundle_key`` ("x25519:<hex>") is the key the agency wraps
gallery bundles for (device/gallery/bundle.py); cards made before it existed lack it.
"""

from __future__ import annotations

import json

from device.audit.entry import SystemClock, canonical
from device.audit.signing import parse_public_key, signature_valid
from device.errors import UsageError

CARD_FORMAT = "fieldface-unit-card/1"
CARD_DOMAIN = b"fieldface-unit-card/1\n"
FIELDS = ("format", "unit", "name", "audit_key", "created_at")
OPTIONAL = ("bundle_key",)


def make_card(log, name: str, bundle_key: str | None = None) -> dict:
    card = {
        "format": CARD_FORMAT,
        "unit": log.device_id,
        "name": name,
        "audit_key": f"ed25519:{log.signer.public_key_hex}",
        "created_at": SystemClock().utc(),
    }
    if bundle_key:
        card["bundle_key"] = bundle_key
    card["sig"] = log.signer.sign(CARD_DOMAIN + canonical(card))
    return card


def read_card(text: str) -> dict:
    """A card checked for shape and self-signature; UsageError naming what is wrong."""
    try:
        card = json.loads(text)
        if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
            raise ValueError("not a fieldface unit card")
        body = {k: card[k] for k in FIELDS} | {k: card[k] for k in OPTIONAL if k in card}
        if not all(isinstance(v, str) for v in body.values()):
            raise ValueError("every field must be a string")
        key = parse_public_key(body["audit_key"])
    except (ValueError, KeyError) as exc:
        raise UsageError(f"unit card: {exc}") from None
    if not signature_valid(key, CARD_DOMAIN + canonical(body), str(card.get("sig", ""))):
        raise UsageError(f"unit card of {body['unit']!r}: its signature does not verify with the key it carries")
    import re

    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", body["unit"]) or len(body["name"]) > 120:
        raise UsageError("unit card: the unit id or name is not valid")
    return {**body, "sig": card["sig"]}
