"""An operator's labelled photo set: one folder per identity, an optional CSV of subgroup labels.

Read only from the folder the operator names; nothing is copied into the store. What the store
and the audit log keep of it is its manifest hash (SHA-256 over every file's identity and SHA-256),
never a face or an embedding.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from device.errors import FieldfaceError, UsageError

SUFFIXES = {".jpg", ".jpeg", ".png"}


@dataclass(frozen=True)
class Dataset:
    folder: Path
    images: list[tuple[str, Path]]  # (identity, file), identities and files in sorted order
    subgroups: dict[str, dict[str, str]]  # identity -> {attribute: value}
    attributes: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # refused before reading (symlinks)


@dataclass
class Embedded:
    names: list[str]  # identity names, index = identity index
    identity: np.ndarray  # identity index per embedded image
    vectors: np.ndarray  # (n, d) unit vectors
    files: list[str]  # relative path per embedded image
    model_id: str
    data_sha256: str
    subgroups: dict[str, dict[str, str]]
    attributes: list[str]
    images_total: int
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)
    quality: dict[str, int] = field(default_factory=dict)
    # Every one-face photo, failing ones too, for the error-versus-discard curves: its identity,
    # vector, quality scores (0-100: "unified" and each component's) and whether the gate fails it.
    probes: ProbeQuality | None = None


@dataclass
class ProbeQuality:
    identity: np.ndarray  # identity index per photo
    vectors: np.ndarray  # (n, d)
    scores: dict[str, np.ndarray]  # "unified" and each component name -> (n,) 0..100
    failing: np.ndarray  # (n,) bool: the quality gate fails it (a search would refuse it)


def read_dataset(folder: Path, subgroups_csv: Path | None = None) -> Dataset:
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder (expected one sub-folder of photos per identity)")
    # Symbolic links are refused, not followed: one inside the chosen folder could lead anywhere
    # (another identity's photos, the data dir). They are listed as skipped.
    links = []
    people = []
    for person in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
        if person.is_symlink():
            links.append(person)
        elif person.is_dir():
            people.append(person)
    images = []
    for person in people:
        for path in sorted(person.iterdir()):
            if path.name.startswith(".") or path.suffix.lower() not in SUFFIXES:
                continue
            if path.is_symlink():
                links.append(path)
            elif path.is_file():
                images.append((person.name, path))
    why = "a symbolic link: refused, it could lead outside the folder"
    skipped = [(str(p.relative_to(folder)), why) for p in links]
    identities = sorted({name for name, _ in images})
    if len(identities) < 2:
        raise UsageError(f"{folder}: found {len(identities)} identity folder(s) with photos; at least 2 are needed")
    groups, attributes = _read_subgroups(subgroups_csv, set(identities)) if subgroups_csv else ({}, [])
    return Dataset(folder, images, groups, attributes, skipped=skipped)


def _read_subgroups(path: Path, identities: set[str]) -> tuple[dict[str, dict[str, str]], list[str]]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the subgroup CSV ({exc})") from None
    if not rows or len(rows[0]) < 2 or rows[0][0].strip().lower() != "identity":
        raise UsageError(f"{path}: the first line must be 'identity,<attribute>,...' (e.g. identity,sex,age_band)")
    attributes = [a.strip() for a in rows[0][1:]]
    groups = {}
    for number, row in enumerate(rows[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(rows[0]):
            raise UsageError(f"{path} line {number}: {len(row)} fields, the header has {len(rows[0])}")
        name = row[0].strip()
        if name not in identities:
            raise UsageError(f"{path} line {number}: no identity folder named {name!r}")
        groups[name] = {a: v.strip() for a, v in zip(attributes, row[1:], strict=True)}
    return groups, attributes


def manifest_sha256(entries: list[tuple[str, str]]) -> str:
    """One hash naming the data: every (identity, file SHA-256), sorted."""
    lines = "".join(f"{identity}\t{sha}\n" for identity, sha in sorted(entries))
    return hashlib.sha256(lines.encode()).hexdigest()


def embed_dataset(dataset: Dataset, recognizer, policy, progress: Callable[[int], None] | None = None) -> Embedded:
    """Analyse and embed every photo as a search would: one face, the policy's quality bar.

    A photo the search would refuse (several faces, failing quality) is skipped with its reason,
    so the rates describe the searches the unit actually runs."""
    names = sorted({name for name, _ in dataset.images})
    index = {name: i for i, name in enumerate(names)}
    ids, vectors, files, hashes = [], [], [], []
    skipped = list(dataset.skipped)  # the refused symbolic links
    quality: dict[str, int] = {}
    all_ids, all_vectors, all_scores, failing = [], [], [], []
    for done, (name, path) in enumerate(dataset.images, start=1):
        rel = str(path.relative_to(dataset.folder))
        data = path.read_bytes()
        hashes.append((name, hashlib.sha256(data).hexdigest()))
        reason = None
        try:
            faces = recognizer.analyze(data).faces
        except FieldfaceError as exc:
            reason = str(exc)
        else:
            if len(faces) != 1:
                reason = f"{len(faces)} faces: a labelled photo must show one person"
            else:
                face = policy.reassess(faces[0])
                quality[face.quality.verdict] = quality.get(face.quality.verdict, 0) + 1
                vector = recognizer.embed(face).vector
                all_ids.append(index[name])
                all_vectors.append(vector)
                scores = {c.name: c.score for c in face.quality.components}
                all_scores.append({"unified": face.quality.unified, **scores})
                failing.append(face.quality.verdict == "fail")
                if face.quality.verdict == "fail":
                    reason = "fails the quality assessment (a search would refuse it): " + "; ".join(
                        face.quality.reasons
                    )
                else:
                    vectors.append(vector)
                    ids.append(index[name])
                    files.append(rel)
        if reason:
            skipped.append((rel, reason))
        if progress:
            progress(done)
    dim = recognizer.embedder.dimensions
    keys = list(all_scores[0]) if all_scores else ["unified"]
    probes = ProbeQuality(
        np.array(all_ids, dtype=int), np.array(all_vectors, dtype=np.float32).reshape(-1, dim),
        {k: np.array([s[k] for s in all_scores], dtype=float) for k in keys}, np.array(failing, dtype=bool),
    )  # fmt: skip
    return Embedded(
        names, np.array(ids, dtype=int), np.array(vectors, dtype=np.float32).reshape(-1, dim), files,
        recognizer.model_id, manifest_sha256(hashes), dataset.subgroups, dataset.attributes, len(dataset.images),
        skipped, quality, probes,
    )  # fmt: skip
