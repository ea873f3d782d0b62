"""Head pose (yaw, pitch, roll) by fitting a 3-D face template to the face-mesh landmarks.

The template is MediaPipe's canonical face model (``mediapipe/modules/face_geometry/data/
canonical_face_model.obj``, Apache-2.0, centimetres; x to the image's right for a frontal face,
y up, z toward the camera): only the 33 vertices that MediaPipe's own face-geometry pipeline uses
as its rigid "procrustes landmark basis" (``geometry_pipeline_metadata_landmarks.pbtxt``): nose,
eye corners, brow, cheekbones, jaw; no lips or eyelids, which move with expression. Coordinates
copied from the .obj at mediapipe commit d8b0992 (2022). The template is left-right symmetric,
so a mirrored photo reads the opposite yaw and roll.

``cv2.solvePnP`` finds the rotation taking the template onto the 2-D points; the camera is put
with its centre on the face and a long focal length (10 face widths), i.e. close to the scaled-
orthographic view a face photo is: the pose of a face does not depend on where in the picture it is
or on the unknown lens. Angles (degrees, ISO/IEC 39794-5 sense, as OFIQ reports them): yaw about
the vertical axis (positive: the face turned toward the image's left, i.e. the subject's right),
pitch about the horizontal axis (positive: looking up), roll in the image plane (positive: the
head tilted toward the image's right, clockwise on screen).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# landmark index: (x, y, z) of MediaPipe's canonical face model.
TEMPLATE = {
    4: (0.000000, -0.463170, 7.586580), 6: (0.000000, 2.473255, 5.788627), 10: (0.000000, 8.261778, 4.481535),
    33: (-4.445859, 2.663991, 3.173422), 54: (-6.279331, 6.615427, 1.425850), 67: (-3.523964, 8.005976, 3.729163),
    117: (-5.258659, 0.945811, 2.974312), 119: (-3.300681, 0.861641, 3.872784),
    121: (-1.820731, 1.467954, 4.224124), 127: (-7.743095, 2.364999, -2.005167),
    129: (-1.785794, -0.978284, 4.850470), 132: (-7.270895, -2.890917, -2.252455),
    133: (-1.856432, 2.585245, 3.757904), 136: (-5.085276, -7.178590, 0.714711),
    143: (-6.407571, 2.236021, 1.560843), 147: (-6.234883, -1.944430, 1.663542),
    198: (-1.246815, 0.230297, 5.681036), 205: (-3.832928, -1.537326, 4.137731),
    263: (4.445859, 2.663991, 3.173422), 284: (6.279331, 6.615427, 1.425850), 297: (3.523964, 8.005976, 3.729163),
    346: (5.258659, 0.945811, 2.974312), 348: (3.300681, 0.861641, 3.872784), 350: (1.820731, 1.467954, 4.224124),
    356: (7.743095, 2.364999, -2.005167), 358: (1.785794, -0.978284, 4.850470),
    361: (7.270895, -2.890917, -2.252455), 362: (1.856432, 2.585245, 3.757904),
    365: (5.085276, -7.178590, 0.714711), 372: (6.407571, 2.236021, 1.560843),
    376: (6.234883, -1.944430, 1.663542), 420: (1.246815, 0.230297, 5.681036),
    425: (3.832928, -1.537326, 4.137731),
}  # fmt: skip
INDICES = np.array(sorted(TEMPLATE))
# Into OpenCV's camera frame (x right, y down, z away from the camera): a frontal face has R = I.
OBJECT = np.array([TEMPLATE[i] for i in INDICES], np.float64) * np.array([1.0, -1.0, -1.0])
FOCAL_FACE_WIDTHS = 10.0


def head_pose(points: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from (468, 2+) face-mesh points in picture pixels."""
    image = np.ascontiguousarray(points[INDICES, :2], np.float64)
    centre = image.mean(axis=0)
    width = float(np.ptp(image[:, 0])) or 1.0
    focal = FOCAL_FACE_WIDTHS * width
    camera = np.array([[focal, 0, centre[0]], [0, focal, centre[1]], [0, 0, 1]], np.float64)
    # Start from a frontal face at the distance the focal length implies (template ~15.5 cm wide).
    rvec = np.zeros((3, 1))
    tvec = np.array([[0.0], [0.0], [FOCAL_FACE_WIDTHS * 15.5]])
    ok, rvec, tvec = cv2.solvePnP(OBJECT, image, camera, None, rvec, tvec, True, cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return math.nan, math.nan, math.nan
    rotation, _ = cv2.Rodrigues(rvec)
    return euler_angles(rotation)


def euler_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a camera-frame rotation R = Rz(roll) Ry(yaw) Rx(pitch)."""
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, -rotation[2, 0]))))
    pitch = math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))
    roll = math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    return yaw, -pitch, roll
