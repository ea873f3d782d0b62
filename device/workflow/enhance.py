"""Step 2: non-destructive, disclosed enhancement of the probe.

Only these operations exist: crop, rotate/level, brightness/contrast, denoise, and reset (back to
the original). Each is applied to the current working image and stored as a new image with its
hash; the original stays bit for bit in ``examinations.probe_image``. Every applied edit is a row
in ``enhancements`` and an audit entry (operation, parameters, input and output hashes), and the
lead report lists them. Nothing here can paste, blend or synthesise features: there is no
operation that takes a second image.
"""

from __future__ import annotations

import hashlib
import json

import cv2
import numpy as np

from device.audit import Draft
from device.errors import NotAllowedError, UsageError
from device.workflow.cases import get, image_bytes, owned
from device.workflow.users import require_trained, utc

OPS = ("crop", "rotate", "brightness_contrast", "denoise", "reset")
PREVIEW_MAX_SIDE = 960


def _number(params: dict, name: str, low: float, high: float, default: float | None = None) -> float:
    raw = params.get(name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise UsageError(f"{name}: a number between {low:g} and {high:g} is required") from None
    if not low <= value <= high or value != value:
        raise UsageError(f"{name}: {value:g} is outside {low:g} to {high:g}")
    return value


def check(op: str, params: dict) -> dict:
    """The operation's parameters, validated and normalised (what gets recorded)."""
    if op == "crop":
        box = {k: _number(params, k, 0, 1) for k in ("x0", "y0", "x1", "y1")}
        if box["x1"] - box["x0"] < 0.05 or box["y1"] - box["y0"] < 0.05:
            raise UsageError("crop: the kept area must be at least 5% wide and high (x0 < x1, y0 < y1)")
        return {k: round(v, 4) for k, v in box.items()}
    if op == "rotate":
        return {"degrees": round(_number(params, "degrees", -180, 180), 2)}
    if op == "brightness_contrast":
        return {"brightness": round(_number(params, "brightness", -100, 100, 0), 1),
                "contrast": round(_number(params, "contrast", 0.5, 2.0, 1), 2)}  # fmt: skip
    if op == "denoise":
        return {"strength": round(_number(params, "strength", 1, 20, 5), 1)}
    if op == "reset":
        return {}
    raise UsageError(f"unknown enhancement {op!r}: allowed are {', '.join(OPS)}")


def transform(rgb: np.ndarray, op: str, params: dict) -> np.ndarray:
    h, w = rgb.shape[:2]
    if op == "crop":
        x0, x1 = int(params["x0"] * w), max(int(params["x1"] * w), int(params["x0"] * w) + 1)
        y0, y1 = int(params["y0"] * h), max(int(params["y1"] * h), int(params["y0"] * h) + 1)
        return np.ascontiguousarray(rgb[y0:y1, x0:x1])
    if op == "rotate":
        degrees = params["degrees"]
        quarter = {90.0: cv2.ROTATE_90_COUNTERCLOCKWISE, -90.0: cv2.ROTATE_90_CLOCKWISE,
                   180.0: cv2.ROTATE_180, -180.0: cv2.ROTATE_180}  # fmt: skip
        if degrees in quarter:  # lossless
            return cv2.rotate(rgb, quarter[degrees])
        if degrees == 0:
            return rgb
        # Levelling: rotate about the centre onto a canvas that keeps every original pixel.
        m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
        cos, sin = abs(m[0, 0]), abs(m[0, 1])
        nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
        m[0, 2] += nw / 2 - w / 2
        m[1, 2] += nh / 2 - h / 2
        return cv2.warpAffine(rgb, m, (nw, nh), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    if op == "brightness_contrast":
        out = (rgb.astype(np.float32) - 128.0) * params["contrast"] + 128.0 + params["brightness"]
        return np.clip(out, 0, 255).astype(np.uint8)
    if op == "denoise":
        s = params["strength"]
        return cv2.fastNlMeansDenoisingColored(rgb, None, s, s, 7, 21)
    raise UsageError(f"unknown enhancement {op!r}")


def encode_jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise UsageError("the edited image could not be encoded")
    return buf.tobytes()


def encode_png(rgb: np.ndarray) -> bytes:
    # Lossless: a chain of edits does not pile up JPEG generations.
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise UsageError("the edited image could not be encoded")
    return buf.tobytes()


def fit(rgb: np.ndarray, max_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)


def _working(wf, user, exam_id):
    with wf.store.connection() as conn:
        exam = owned(conn, user, exam_id, "open")
        data = image_bytes(conn, exam_id, "working")
    return exam, data


def require_enhancement_allowed(wf, op: str) -> None:
    """The agency may switch enhancement off (``policy.enhancement_allowed``); going back to the
    original stays possible, so a probe edited before the switch can still be searched unedited."""
    if op != "reset" and not wf.policy().enhancement_allowed:
        raise NotAllowedError("enhancement is switched off by the agency's policy: search the original probe")


def preview(wf, user, exam_id: int, op: str, params: dict) -> bytes:
    """The edit's result as a small JPEG, nothing recorded (the screen shows it before Apply)."""
    require_enhancement_allowed(wf, op)
    params = check(op, params)
    _exam, data = _working(wf, user, exam_id)
    if op == "reset":
        with wf.store.connection() as conn:
            data = image_bytes(conn, exam_id, "original")
        return encode_jpeg(fit(wf.gallery.recognizer.decode(data).rgb, PREVIEW_MAX_SIDE), 85)
    rgb = fit(wf.gallery.recognizer.decode(data).rgb, PREVIEW_MAX_SIDE)
    return encode_jpeg(transform(rgb, op, params), 85)


def apply(wf, user, exam_id: int, op: str, params: dict):
    require_trained(user, wf.today())
    require_enhancement_allowed(wf, op)
    params = check(op, params)
    exam, data = _working(wf, user, exam_id)
    input_sha = exam.current_sha256
    if op == "reset":
        out, out_sha = None, exam.probe_sha256
    else:
        out = encode_png(transform(wf.gallery.recognizer.decode(data).rgb, op, params))
        out_sha = hashlib.sha256(out).hexdigest()
    with wf.store.connection() as conn, wf.store.transaction(conn):
        current = owned(conn, user, exam_id, "open")
        if current.current_sha256 != input_sha:
            raise UsageError("the image changed meanwhile (another edit was applied): look at it again")
        seq = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM enhancements WHERE exam_id = ?",
                           (exam_id,)).fetchone()[0]  # fmt: skip
        conn.execute(
            "UPDATE examinations SET working_image = ?, working_sha256 = ?, face_index = NULL, updated_at = ?"
            " WHERE id = ?",
            (out, None if out is None else out_sha, utc(wf.now()), exam_id),
        )
        conn.execute(
            "INSERT INTO enhancements(exam_id, seq, op, params, input_sha256, output_sha256, by_user, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (exam_id, seq, op, json.dumps(params, sort_keys=True), input_sha, out_sha, user.id, utc(wf.now())),
        )
        details = {"seq": seq, "op": op, "params": params, "input_sha256": input_sha, "output_sha256": out_sha}
        wf.audit.append_in(conn, [Draft("exam.enhance", user.username, "examiner", f"exam:{exam_id}", exam.case_id,
                                        details=details)])  # fmt: skip
        return get(conn, exam_id)


def edits(wf, exam_id: int) -> list[dict]:
    with wf.store.connection() as conn:
        rows = conn.execute(
            "SELECT e.seq, e.op, e.params, e.input_sha256, e.output_sha256, u.username, e.at FROM enhancements e"
            " JOIN users u ON u.id = e.by_user WHERE e.exam_id = ? ORDER BY e.seq",
            (exam_id,),
        ).fetchall()
    return [{"seq": s, "op": op, "params": json.loads(p), "input_sha256": i, "output_sha256": o, "by": by, "at": at}
            for s, op, p, i, o, by, at in rows]  # fmt: skip
