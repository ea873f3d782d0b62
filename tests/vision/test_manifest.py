"""Shipped models match their manifest; altered or unknown models are refused clearly."""

from __future__ import annotations

import hashlib
import shutil
import tomllib

import pytest

from device.errors import ModelError
from device.vision import Recognizer
from device.vision.manifest import SHIPPED_MANIFEST, find_model, load_manifest, read_verified
from tests.vision.conftest import vision_config


def test_shipped_models_match_manifest_and_carry_their_licence():
    entries = load_manifest(SHIPPED_MANIFEST)
    assert {e.role for e in entries} == {"detector", "landmarks", "embedder"}
    for entry in entries:
        data = read_verified(entry)
        assert hashlib.sha256(data).hexdigest() == entry.sha256
        assert entry.licence == "Apache-2.0"
        assert "Apache License" in (entry.base_dir / entry.licence_file).read_text()
        assert entry.source.package and entry.source.package_version and entry.source.path


def agency_manifest(tmp_path, model_file, sha256, size, model_id="agency-sface", delegate="none"):
    """An extra manifest describing a copy of the shipped SFace (as an agency would drop one in)."""
    shipped = tomllib.loads(SHIPPED_MANIFEST.read_text())["model"][1]
    path = tmp_path / "agency.toml"
    path.write_text(
        f"""[[model]]
id = "{model_id}"
version = "1"
role = "embedder"
file = "{model_file}"
sha256 = "{sha256}"
bytes = {size}
licence = "Apache-2.0"
delegate = "{delegate}"
[model.source]
package = "agency"
package_version = "1"
path = "{model_file}"
[model.input]
name = "{shipped["input"]["name"]}"
shape = [1, 112, 112, 3]
range = [0.0, 255.0]
[[model.outputs]]
name = "{shipped["outputs"][0]["name"]}"
shape = [1, 128]
"""
    )
    return path


def shipped_sface():
    return find_model("sface-2021dec-fp16", "embedder")


def test_an_agency_model_is_used_by_config_alone(tmp_path, recognizer):
    entry = shipped_sface()
    shutil.copy(entry.path, tmp_path / "mine.tflite")
    manifest = agency_manifest(tmp_path, "mine.tflite", entry.sha256, entry.bytes)
    custom = Recognizer.from_config(vision_config(embedder="agency-sface", manifests=[manifest]))
    assert custom.model_id.startswith("agency-sface@1+")
    assert custom.model_id != recognizer.model_id


def test_an_altered_model_file_is_refused(tmp_path):
    entry = shipped_sface()
    data = bytearray(entry.path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit: still a loadable model, no longer the one we vouch for
    (tmp_path / "mine.tflite").write_bytes(data)
    manifest = agency_manifest(tmp_path, "mine.tflite", entry.sha256, entry.bytes)
    with pytest.raises(ModelError, match=r"is not the file the manifest names \(sha256 .*refusing to load it"):
        Recognizer.from_config(vision_config(embedder="agency-sface", manifests=[manifest]))


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"embedder": "no-such-model"}, "no embedder model 'no-such-model'"),
        ({"embedder": "blazeface-full-range-sparse"}, "is a detector, not a embedder"),
        ({"manifests": ["/nonexistent/models.toml"]}, "does not exist"),
    ],
)
def test_model_config_mistakes_are_clear(overrides, words):
    with pytest.raises(ModelError, match=words):
        Recognizer.from_config(vision_config(**overrides))


def test_missing_model_file_and_bad_manifest_are_clear(tmp_path):
    entry = shipped_sface()
    with pytest.raises(ModelError, match="does not exist"):
        Recognizer.from_config(
            vision_config(
                embedder="agency-sface",
                manifests=[agency_manifest(tmp_path, "absent.tflite", entry.sha256, entry.bytes)],
            )
        )
    bad = tmp_path / "bad.toml"
    bad.write_text("[[model]]\nid = 'x'\n")
    with pytest.raises(ModelError, match=r"bad.toml: model\.version: Field required"):
        load_manifest(bad)
    with pytest.raises(ModelError, match="defined twice"):
        find_model("x", "embedder", [SHIPPED_MANIFEST])
