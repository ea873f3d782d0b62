"""Decode untrusted pixels in a small pool of child processes, so a decoder cannot take us down.

An image from a user (a probe upload, a photo for ``analyze``) is hostile input to native code:
an adversarial trial saw OpenCV 4.11 segfault on an animated PNG whose second frame is larger than
the canvas, and a 141-byte PNG makes it reserve about 4 GiB (measured: 3.5 GiB resident).
decode.py refuses what it can see in the header; what is left runs here, in a child process that

* holds no key and no model (a fresh interpreter started with ``exec``, never a fork of us),
* sets its own address-space limit (``RLIMIT_AS``) before each image to what that image can need
  (12 bytes per declared pixel plus a margin over what the child has mapped already), so a runaway
  allocation fails inside the child instead of waking the out-of-memory killer,
* must answer within ``timeout_s`` or is killed,
* reads the image's bytes from, and writes its RGB pixels to, two memfds it shares with us (memory,
  never a file on disk) that live as long as the child, so their pages are allocated once: the
  cost over decoding in-process is a copy of the bytes in and of the pixels out, measured by
  ``scripts/bench`` (``python -m device.vision.bench_decode``).

A crash, a hang or a refused allocation becomes one ``ImageError`` ("this image could not be
decoded safely: ..."); the child is replaced and the calling process lives on. Children are started
on first use (or by ``warm()``), reused for every image, and end when their socket closes (our
exit, even a SIGKILL of ours, closes it). Each child decodes one image at a time, so it may point
its own fd 2 at a memfd to read libjpeg's "premature end" warning without any process-wide lock.

Usage: whoever decodes owns a ``DecodePool`` (the recognizer, built from ``[vision]``; the files
camera source) and passes it to ``decode_image`` in decode.py; ``close()`` ends its children (the
web process does when the box locks, since they hold the last photo). No pool is process-global.
"""

from __future__ import annotations

import mmap
import os
import resource
import socket
import struct
import subprocess
import sys
import threading
import weakref
from pathlib import Path

import numpy as np

from device.errors import ImageError

REQUEST = struct.Struct(">4sIIBQ")  # format, width, height, orientation, data length
PIXELS = struct.Struct(">II")  # height, width of the RGB result
BYTES_PER_PIXEL = 12  # decoder output (<= 4) + RGB conversion (3) + orientation (3) + slack
MARGIN = 64 << 20
START_TIMEOUT_S = 60.0  # importing numpy + cv2 on a cold Raspberry Pi
REFUSED = "this image could not be decoded safely"
_ROOT = str(Path(__file__).resolve().parents[2])
# The child imports decode.py and this module without device/vision/__init__.py (which pulls in the
# recognizer, its runtime and the config's pydantic): 16 MiB less per child.
_CHILD = (
    "import sys, types; package = types.ModuleType('device.vision'); package.__path__ = [sys.argv[1]]; "
    "sys.modules['device.vision'] = package; from device.vision.safe_decode import child_main; "
    "child_main(*map(int, sys.argv[2:]))"
)


class _Shared:
    """A memfd both sides map: grown when an image needs more, given back after a big one."""

    KEEP = 64 << 20  # keep up to this much mapped between images (a 21-megapixel RGB image)

    def __init__(self, name: str, fd: int | None = None) -> None:
        self.fd = os.memfd_create(name) if fd is None else fd  # inheritable: passed to the child
        self.map: mmap.mmap | None = None

    def view(self, size: int, grow: bool) -> memoryview:
        """The first ``size`` bytes, mapped shared; ``grow``: the owner sizes the file first."""
        if grow and os.fstat(self.fd).st_size < size:
            os.ftruncate(self.fd, size)
        if self.map is None or len(self.map) < size:
            if self.map is not None:
                self.map.close()
            self.map = mmap.mmap(self.fd, os.fstat(self.fd).st_size)
        return memoryview(self.map)[:size]

    def shrink(self, owner: bool) -> None:
        """After a big image: unmap; the ``owner`` (us, once the child has answered) also frees the
        pages. The child only unmaps: truncating under our mapping would make our copy fault."""
        if self.map is not None and len(self.map) > self.KEEP:
            self.map.close()
            self.map = None
            if owner:
                os.ftruncate(self.fd, 0)

    def close(self) -> None:
        if self.map is not None:
            self.map.close()
        os.close(self.fd)


class _Worker:
    """One child process, our end of its socket, and the two memfds that carry bytes and pixels.

    The memfds stay between images, so their pages are allocated once: what an image costs beyond
    decoding in-process is one copy of its bytes in and one copy of its pixels out."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.data, self.pixels = _Shared("image-bytes"), _Shared("image-pixels")
        # One malloc arena: per-thread arenas reserve 64 MiB of address space each, which the
        # child's RLIMIT_AS would have to leave room for.
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MALLOC_ARENA_MAX="1")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
        fds = [theirs.fileno(), self.data.fd, self.pixels.fd]
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD, str(Path(__file__).parent), *map(str, fds)],
                pass_fds=fds,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        finally:
            theirs.close()
        self.sock = ours
        self.ready = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def decode(self, data: bytes, header, timeout_s: float) -> np.ndarray:
        if not self.ready:
            self.sock.settimeout(START_TIMEOUT_S)
            if self.sock.recv(16) != b"ready":
                raise ImageError(f"{REFUSED}: the decoding process did not start")
            self.ready = True
        size = header.width * header.height * 3  # the RGB result, whatever the orientation
        self.data.view(len(data), grow=True)[:] = data
        self.pixels.view(size, grow=True)
        request = REQUEST.pack(header.format.encode().ljust(4), header.width, header.height,
                               header.orientation, len(data))  # fmt: skip
        try:
            self.sock.settimeout(timeout_s)
            self.sock.send(request)
            reply = self.sock.recv(4096)
        except TimeoutError:
            raise ImageError(f"{REFUSED}: decoding took longer than {timeout_s:g} s") from None
        except OSError:  # the child died before it read or answered (EPIPE, ECONNRESET)
            reply = b""
        if not reply:
            raise ImageError(f"{REFUSED}: the decoder crashed")
        if reply[:1] == b"E":
            raise ImageError(reply[1:].decode("utf-8", "replace"))
        if reply[:1] != b"K" or len(reply) != 1 + PIXELS.size:
            raise ImageError(f"{REFUSED}: the decoder answered nonsense")
        height, width = PIXELS.unpack(reply[1:])
        if height * width * 3 != size:
            raise ImageError(f"{REFUSED}: the decoder answered nonsense")
        rgb = np.frombuffer(self.pixels.view(size, grow=False), np.uint8).reshape(height, width, 3).copy()
        self.data.shrink(owner=True)
        self.pixels.shrink(owner=True)
        return rgb

    def close(self) -> None:
        self.sock.close()  # the child reads EOF and exits
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._release()

    def kill(self) -> None:
        self.sock.close()
        self.proc.kill()
        self.proc.wait()
        self._release()

    def _release(self) -> None:
        self.data.close()
        self.pixels.close()


class DecodePool:
    """Up to ``workers`` children, reused; a caller waits while all of them are busy."""

    def __init__(self, workers: int = 2, timeout_s: float = 10.0) -> None:
        self.workers, self.timeout_s = workers, timeout_s
        self._slots = threading.BoundedSemaphore(workers)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        # A pool dropped without close() (a command's recognizer going out of scope) still ends its
        # children, when it is collected or at exit, never leaving them to outlive their owner.
        self._finalizer = weakref.finalize(self, _end_workers, self._idle, self._lock, self._pid)

    def decode(self, data: bytes, header) -> np.ndarray:
        """The upright RGB pixels of ``data`` (whose header decode.check_header accepted)."""
        with self._slots:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None:
                worker = _Worker()
            healthy = False
            try:
                pixels = worker.decode(data, header, self.timeout_s)
                healthy = True
                return pixels
            except ImageError as exc:
                # A refusal the child worked out itself leaves it healthy; anything else replaces it.
                healthy = not str(exc).startswith(REFUSED)
                raise
            finally:
                if healthy:
                    with self._lock:
                        self._idle.append(worker)
                else:
                    worker.kill()

    def warm(self) -> None:
        """Start the children now (in the background), so the first image does not wait for them."""

        def start() -> None:
            with self._lock:
                missing = self.workers - len(self._idle)
            started = [_Worker() for _ in range(missing)]
            with self._lock:
                self._idle.extend(started)

        threading.Thread(target=start, name="decode-pool-warm", daemon=True).start()

    def pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._idle]

    def close(self) -> None:
        """End the idle children (the pool starts new ones for the next image)."""
        _end_workers(self._idle, self._lock, self._pid)


def _end_workers(idle: list[_Worker], lock: threading.Lock, owner_pid: int) -> None:
    with lock:
        ending = list(idle)
        idle.clear()
    if os.getpid() == owner_pid:  # a forked copy must not end its parent's children
        for worker in ending:
            worker.close()


# ---- the child -------------------------------------------------------------------------------


def _address_space() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def child_main(fd: int, data_fd: int, pixels_fd: int) -> None:
    """Serve decode requests on socket ``fd`` until it closes; one image at a time. The image's
    bytes are in memfd ``data_fd``; its RGB pixels go to memfd ``pixels_fd`` (sized by the parent)."""
    import cv2

    from device.vision.decode import ImageHeader, decode_pixels

    # OpenCV's thread pool (and its stacks) exists before the first limit is computed: one warm-up
    # decode of a small picture, so the address space each image is limited against includes it.
    warm = cv2.imencode(".jpg", np.zeros((1024, 1024, 3), np.uint8))[1]
    cv2.cvtColor(cv2.imdecode(warm, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    sock = socket.socket(fileno=fd)
    data, pixels = _Shared("", data_fd), _Shared("", pixels_fd)
    err = os.memfd_create("decoder-stderr")  # native decoders' chatter, read after each image
    os.dup2(err, 2)

    def native_messages() -> list[str]:
        os.lseek(err, 0, os.SEEK_SET)
        text = os.read(err, 1 << 16).decode("utf-8", "replace")
        os.ftruncate(err, 0)
        os.lseek(err, 0, os.SEEK_SET)
        return text.splitlines()

    sock.sendall(b"ready")
    while True:
        try:
            request = sock.recv(256)
        except OSError:
            return
        if not request:
            return
        fmt, width, height, orientation, length = REQUEST.unpack(request)
        header = ImageHeader(fmt.decode().strip(), width, height, orientation)
        size = width * height * 3
        try:
            source = data.view(length, grow=False)
            target = np.frombuffer(pixels.view(size, grow=False), np.uint8)
            limit = _address_space() + width * height * BYTES_PER_PIXEL + MARGIN
            resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
            try:
                rgb = decode_pixels(source, header, native_messages)
            finally:
                resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            target[:] = rgb.reshape(-1)
            reply = b"K" + PIXELS.pack(rgb.shape[0], rgb.shape[1])
        except ImageError as exc:
            reply = b"E" + str(exc).encode()[:3000]
        except (MemoryError, cv2.error) as exc:
            ran_out = isinstance(exc, MemoryError) or "alloc" in str(exc).lower()
            why = "it needs more memory than its size allows" if ran_out else "the decoder failed"
            reply = f"E{REFUSED}: {why}".encode()
        finally:
            source = target = rgb = None
        data.shrink(owner=False)
        pixels.shrink(owner=False)
        sock.sendall(reply)
