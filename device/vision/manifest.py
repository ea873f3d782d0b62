"""Model manifests: what each model file is, where it came from, and the check that it is that file.

The shipped manifest lives beside the shipped models (``models/manifest.toml``). An agency adds its
own models (another TFLite embedder, an Edge TPU compiled one) with a manifest of the same shape named
in ``vision.manifests``; a model's ``file`` is relative to the manifest that lists it. The config then
picks models by id (``vision.detector``, ``vision.embedder``).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from device.config import describe_validation_error
from device.errors import ModelError

SHIPPED_MANIFEST = Path(__file__).with_name("models") / "manifest.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSource(_Strict):
    package: str
    package_version: str
    path: str
    origin: str = ""
    source_sha256: str = ""


class ModelInput(_Strict):
    name: str
    shape: tuple[int, int, int, int]
    colour: Literal["RGB"] = "RGB"
    # 0..255 pixel values are mapped linearly onto [low, high] before quantisation (if any).
    range: tuple[float, float]
    resize: str = ""


class ModelOutput(_Strict):
    name: str
    shape: tuple[int, ...]
    meaning: str = ""


class ModelEntry(_Strict):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    version: Annotated[str, Field(min_length=1, max_length=64)]
    role: Literal["detector", "landmarks", "embedder"]
    file: str
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    bytes: Annotated[int, Field(gt=0)]
    licence: str
    licence_file: str = ""
    delegate: Literal["none", "edgetpu"] = "none"
    description: str = ""
    source: ModelSource
    input: ModelInput
    outputs: list[ModelOutput]
    # Filled in by load_manifest: the directory the manifest was read from.
    base_dir: Path = Path()

    @property
    def path(self) -> Path:
        return self.base_dir / self.file

    @property
    def model_id(self) -> str:
        """Id, version and content hash: two files never share it, so a gallery never mixes models."""
        return f"{self.id}@{self.version}+{self.sha256[:12]}"


def load_manifest(path: Path) -> list[ModelEntry]:
    """Read and validate one manifest; every failure is a ModelError naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"model manifest {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"model manifest {path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"model manifest {path}: not valid TOML: {exc}") from None
    entries = data.get("model")
    if not isinstance(entries, list) or not entries or set(data) != {"model"}:
        raise ModelError(f"model manifest {path}: expected one or more [[model]] tables and nothing else")
    try:
        return [ModelEntry.model_validate({**raw, "base_dir": path.parent}) for raw in entries]
    except ValidationError as exc:
        raise ModelError(f"model manifest {path}: model.{describe_validation_error(exc)}") from None
    except TypeError:
        raise ModelError(f"model manifest {path}: every [[model]] must be a table") from None


def find_model(model_id: str, role: str, extra_manifests: Sequence[Path] = ()) -> ModelEntry:
    """The entry with this id (extra manifests may not redefine a shipped id), checked for its role."""
    found: dict[str, ModelEntry] = {}
    for manifest in [SHIPPED_MANIFEST, *extra_manifests]:
        for entry in load_manifest(Path(manifest)):
            if entry.id in found:
                raise ModelError(f"model id {entry.id!r} is defined twice (again in {manifest})")
            found[entry.id] = entry
    entry = found.get(model_id)
    if entry is None:
        known = ", ".join(sorted(e.id for e in found.values() if e.role == role)) or "none"
        raise ModelError(f"no {role} model {model_id!r} in the manifests (known {role}s: {known})")
    if entry.role != role:
        raise ModelError(f"model {model_id!r} is a {entry.role}, not a {role}")
    return entry


def read_verified(entry: ModelEntry) -> bytes:
    """The model file's bytes, refused unless size and sha256 are the manifest's."""
    try:
        data = entry.path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"model {entry.id}: file {entry.path} does not exist") from None
    except OSError as exc:
        raise ModelError(f"model {entry.id}: cannot read {entry.path}: {exc.strerror}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.sha256 or len(data) != entry.bytes:
        raise ModelError(
            f"model {entry.id}: {entry.path} is not the file the manifest names "
            f"(sha256 {digest[:16]}…, {len(data)} bytes; "
            f"expected {entry.sha256[:16]}…, {entry.bytes} bytes): refusing to load it"
        )
    return data
