"""Checking a chain: names each entry that was edited, deleted, reordered, inserted or cut off.

The same checker reads the local log (``verify_store``) and an export file
(``device.audit.export.verify_export``). It streams: memory stays bounded by ``RECENT`` entries
however long the log, so links are judged against recent neighbours (a move further than that
reads as an edit plus a deletion, which is still reported, just less precisely).

What each kind means:
  edited     an entry's content no longer matches its hash, or an entry was re-hashed so that the
             next entry does not link to it, or a signed checkpoint disagrees with the entry
  deleted    sequence numbers are missing
  reordered  an entry sits at a position other than its own sequence number
  inserted   an entry that the next entry's link skips over, or entries no signature covers
  truncated  the log ends before a signed checkpoint, an export's signed end, or an acked seq
  forged     a signature that does not verify with the device's public key
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from device.audit.entry import GENESIS, Entry
from device.audit.signing import head_signature_valid

RECENT = 4096


@dataclass(frozen=True)
class Problem:
    kind: str
    seq: int
    message: str

    def __str__(self) -> str:
        return f"{self.kind} at seq {self.seq}: {self.message}"


@dataclass
class Report:
    device: str
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    signed_seq: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class ChainChecker:
    """Feed entries in stored order, then signed heads, then call ``finish()``."""

    def __init__(self, device: str, public_key: Ed25519PublicKey, start_seq: int = 0, start_hash: str | None = GENESIS):
        """``start_hash=None``: anchor on the first entry's own link (an export that starts later;
        that link is inside the hashed body, so the end signature covers it)."""
        self.report = Report(device=device, head_seq=start_seq, head_hash=start_hash or GENESIS)
        self._key = public_key
        self._start_seq = start_seq
        self._recent: OrderedDict[int, str] = OrderedDict()
        if start_hash is not None:
            self._recent[start_seq] = start_hash
        self._waiting_for: dict[int, tuple[int, str]] = {}  # seq -> (next seq, its prev)
        self._last_position = start_seq
        self._seen_max = start_seq
        # Two entries claiming one seq: the later claimant, until a link or signature picks one.
        self._rivals: dict[int, str] = {}
        self._shift = 0  # stored position minus seq, after an insertion that renumbered the rest

    def problem(self, kind: str, seq: int, message: str) -> None:
        self.report.problems.append(Problem(kind, seq, message))

    def feed(self, entry: Entry, position: int | None = None) -> None:
        """``position``: where the entry is stored (the table's seq column); None for a file."""
        r = self.report
        r.entries += 1
        s = entry.seq
        if not self._recent and s == self._start_seq + 1:
            self._recent[self._start_seq] = entry.prev
        if entry.device != r.device:
            self.problem("inserted", s, f"entry names device {entry.device!r}, not {r.device!r}")
        if entry.computed_hash() != entry.hash:
            self.problem("edited", s, "its content does not match its hash")
        rival = s in self._recent and self._recent[s] != entry.hash and s != self._start_seq
        if rival:
            self._rivals[s] = entry.hash
            if position is not None:
                self._shift = position - s
        if position is not None and position - s != self._shift:
            self.problem("reordered", s, f"entry {s} is stored at position {position}")
        expected = self._last_position + 1
        where = s if position is None else position
        if rival:
            pass
        elif where <= self._last_position or s in self._recent:
            self.problem("reordered", s, f"entry {s} comes after entry {self._last_position}")
        elif where > expected and (expected not in self._recent):
            missing = f"entry {expected}" if where == expected + 1 else f"entries {expected}..{where - 1}"
            self.problem("deleted", expected, f"{missing} missing")
        self._last_position = max(self._last_position, where)
        # The link to the predecessor, now or when the predecessor shows up (moved entries).
        if s - 1 in self._recent:
            self._check_link(s, entry.prev)
        else:
            self._waiting_for[s - 1] = (s, entry.prev)
        if not rival:
            self._recent[s] = entry.hash
        if s in self._waiting_for:
            follower, prev = self._waiting_for.pop(s)
            self._check_link(follower, prev)
        while len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        if s >= self._seen_max:
            self._seen_max = s
            r.head_seq, r.head_hash = s, entry.hash

    def unreadable(self, position: int, reason: str) -> None:
        self.problem("edited", position, f"the stored entry is not a readable entry ({reason})")
        self._last_position = max(self._last_position, position)

    def _resolve(self, seq: int, genuine: str, by: str) -> bool:
        """True if ``genuine`` is one of two rival entries for ``seq``; the other was inserted."""
        rival = self._rivals.get(seq)
        if rival is None or genuine not in (rival, self._recent.get(seq)):
            return False
        del self._rivals[seq]
        self._recent[seq] = genuine
        self.problem("inserted", seq, f"two entries claim seq {seq}; {by} vouches for one, the other was inserted")
        return True

    def _check_link(self, seq: int, prev: str) -> None:
        if prev == self._recent[seq - 1] and seq - 1 not in self._rivals:
            return
        if self._resolve(seq - 1, prev, f"entry {seq}'s link"):
            return
        if self._recent.get(seq - 2) == prev:
            self.problem(
                "inserted",
                seq - 1,
                f"entry {seq} links to entry {seq - 2}: entry {seq - 1} is not in the chain",
            )
        else:
            self.problem(
                "edited",
                seq - 1,
                f"entry {seq - 1} was changed and re-hashed: entry {seq} no longer links to it",
            )

    def signed_head(self, seq: int, hash_hex: str, sig_hex: str, what: str = "checkpoint") -> None:
        """A signature over (device, seq, hash); call after the entries it covers were fed."""
        r = self.report
        if not head_signature_valid(self._key, r.device, seq, hash_hex, sig_hex):
            self.problem("forged", seq, f"the {what} signature does not verify with the device public key")
            return
        self.signed_head_trusted(seq, hash_hex, what)

    def signed_head_trusted(self, seq: int, hash_hex: str, what: str) -> None:
        """A head whose signature the caller has already checked."""
        r = self.report
        if seq > self._seen_max:
            self.problem(
                "truncated",
                self._seen_max + 1,
                f"a signed {what} covers seq {seq} but the log ends at {self._seen_max}",
            )
            return
        if self._resolve(seq, hash_hex, f"the signed {what}"):
            pass
        elif seq > self._start_seq and self._recent.get(seq, hash_hex) != hash_hex:
            self.problem("edited", seq, f"entry {seq} differs from what the signed {what} covers")
        r.signed_seq = max(r.signed_seq, seq)

    def finish(self, *, require_signed_end: bool = True) -> Report:
        r = self.report
        for missing, (follower, _prev) in sorted(self._waiting_for.items()):
            if missing > self._start_seq and not any(p.kind == "deleted" for p in r.problems):
                self.problem("deleted", missing, f"entry {missing} missing (entry {follower} links to it)")
        if require_signed_end and r.head_seq > r.signed_seq:
            first = r.signed_seq + 1
            self.problem("inserted", first, f"entries {first}..{r.head_seq} are not covered by any signature")
        r.problems.sort(key=lambda p: p.seq)
        return r

    def expect_at_least(self, seq: int, hash_hex: str | None, source: str) -> None:
        """An outside anchor (the receiver's ack, a printed head): the log must reach it, unchanged."""
        r = self.report
        if seq > r.head_seq:
            self.problem("truncated", r.head_seq + 1, f"{source} reached seq {seq} but the log ends at {r.head_seq}")
        elif hash_hex is not None and seq > self._start_seq and self._recent.get(seq, hash_hex) != hash_hex:
            self.problem("edited", seq, f"entry {seq} differs from the one {source} holds")


def verify_store(log, public_key: Ed25519PublicKey, expect: tuple[int, str | None] | None = None) -> Report:
    """Verify the local log: chain, checkpoints, sync acks, and an optional outside anchor."""
    checker = ChainChecker(log.device_id, public_key)
    checkpoints = iter(log.checkpoints())
    pending = next(checkpoints, None)
    acks = {seq: (dest, h) for dest, (seq, h) in log.all_acked().items()}
    for position, body, hash_hex in log.iter_rows():
        try:
            entry = Entry.from_body(json.loads(body), hash_hex)
        except (ValueError, TypeError) as exc:
            checker.unreadable(position, str(exc))
            continue
        checker.feed(entry, position)
        # A checkpoint is judged one position late, once a renumbered rival could have shown up.
        while pending is not None and pending.seq < position:
            checker.signed_head(pending.seq, pending.hash, pending.sig)
            pending = next(checkpoints, None)
        if position in acks:
            dest, h = acks.pop(position)
            checker.expect_at_least(position, h, f"the receiver at {dest!r}")
    while pending is not None:  # checkpoints past the last entry: the tail was cut off
        checker.signed_head(pending.seq, pending.hash, pending.sig)
        pending = next(checkpoints, None)
    for seq, (dest, h) in acks.items():
        checker.expect_at_least(seq, h, f"the receiver at {dest!r}")
    if expect is not None:
        checker.expect_at_least(expect[0], expect[1], "the expected head")
    from device.audit import crosscheck  # the columns beside the body, the rows that cite entries

    with log._store.connection() as conn:
        crosscheck.check_columns(conn, checker)
        crosscheck.check_references(conn, checker, checker.report.head_seq)
    return checker.finish()
