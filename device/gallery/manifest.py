"""Bulk enrollment manifests: a CSV file, one image per row, checked whole before anything is written.

Columns (header row required; only ``image``, ``subject`` and ``legal_basis`` are mandatory)::

    image,subject,reference,gallery,category,legal_basis,source,retain_until
    photos/a1.jpg,Jane Roe,REC-0001,wanted,warrant,Court order 2026/17,booking,2031-01-01

``image`` is relative to the manifest's folder. Rows of one subject (same gallery and reference,
or same name where there is no reference) are enrolled together. A bad row stops the run before
it starts, naming the line: a manifest is fixed and re-run, never half-applied.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from device.errors import UsageError
from device.fsutil import read_user_file
from device.gallery.enroll import SubjectInfo
from device.gallery.records import check_name, parse_date

COLUMNS = ("image", "subject", "reference", "gallery", "category", "legal_basis", "source", "retain_until")
REQUIRED = ("image", "subject", "legal_basis")
MAX_ROWS = 1_000_000


@dataclass(frozen=True)
class ManifestGroup:
    info: SubjectInfo
    images: list[tuple[str, Path]]  # (label for the report, file)


def read_manifest(path: Path, default_gallery: str) -> list[ManifestGroup]:
    path = Path(path)
    try:
        text = read_user_file(path, "manifest", UsageError).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"manifest {path}: not UTF-8 text") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing:
        problem = f"unknown column(s) {', '.join(unknown)}" if unknown else f"missing column(s) {', '.join(missing)}"
        raise UsageError(f"manifest {path} line 1: {problem} (columns: {', '.join(COLUMNS)})")
    groups: dict[tuple, ManifestGroup] = {}
    for number, raw in enumerate(reader, start=2):
        if number > MAX_ROWS:
            raise UsageError(f"manifest {path}: more than {MAX_ROWS} rows; split it")
        if None in raw:
            raise UsageError(f"manifest {path} line {number}: more fields than columns")
        row = {k.strip(): (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue
        where = f"manifest {path} line {number}"
        for column in REQUIRED:
            if not row.get(column):
                raise UsageError(f"{where}: '{column}' is empty")
        image = (path.parent / row["image"]).resolve()
        if not image.is_file():
            raise UsageError(f"{where}: image {row['image']} does not exist")
        gallery = row.get("gallery") or default_gallery
        try:
            check_name("gallery", gallery)
            retain = parse_date(row.get("retain_until"), "retain_until")
        except UsageError as exc:
            raise UsageError(f"{where}: {exc}") from None
        reference = row.get("reference") or None
        key = (gallery, "ref", reference) if reference else (gallery, "name", row["subject"])
        info = SubjectInfo(
            row["subject"], row["legal_basis"], gallery, reference, row.get("category", ""),
            row.get("source", ""), retain,
        )  # fmt: skip
        group = groups.get(key)
        if group is None:
            groups[key] = group = ManifestGroup(info, [])
        elif group.info != info:
            raise UsageError(f"{where}: subject details differ from an earlier row of the same subject")
        group.images.append((f"line {number}: {row['image']}", image))
    if not groups:
        raise UsageError(f"manifest {path} lists no images")
    return list(groups.values())
