"""Decode untrusted pixels in a small pool of child processes, so a decoder cannot take us down.

An image from a user (a probe upload, a photo for ``analyze``) is hostile input to native code:
OpenCV 4.11 segfaults on an animated PNG whose second frame is larger than the canvas, and a
141-byte PNG can make it reserve 4 GiB. decode.py refuses what it can see in the header; what is
left runs here, in a child process that

* holds no key and no model (a fresh interpreter started with ``exec``, never a fork of us),
* sets its own address-space limit (``RLIMIT_AS``) before each image to what that image can need
  (12 bytes per declared pixel plus a margin over what the child used when idle), so a runaway
  allocation fails inside the child instead of waking the out-of-memory killer,
* must answer within ``timeout_s`` or is killed,
* sends the RGB pixels back in a memfd (memory, never a file on disk) that we map copy-on-write:
  one copy of the pixels in all, the cost measured by ``scripts/bench`` (``decode isolation``).

A crash, a hang or a refused allocation becomes one ``ImageError`` ("this image could not be
decoded safely: ..."); the child is replaced and the calling process lives on. Children are started
on first use (or by ``warm()``), reused for every image, and end when their socket closes (our
exit, even a SIGKILL of ours, closes it). Each child is single-threaded, so it may point its own
fd 2 at a memfd to read libjpeg's "premature end" warning without any process-wide lock.

Usage: ``configure(workers, timeout_s)`` once from the config (the web app and the CLI do), then
``decode_image`` in decode.py calls ``default_pool().decode(data, header)``.
"""

from __future__ import annotations

import atexit
import mmap
import os
import resource
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from device.errors import ImageError

REQUEST = struct.Struct(">4sIIBQ")  # format, width, height, orientation, data length (+ 1 fd)
PIXELS = struct.Struct(">II")  # height, width of the RGB result (+ 1 fd)
BYTES_PER_PIXEL = 12  # decoder output (<= 4) + RGB conversion (3) + orientation (3) + slack
MARGIN = 64 << 20
START_TIMEOUT_S = 60.0  # importing numpy + cv2 on a cold Raspberry Pi
REFUSED = "this image could not be decoded safely"
_ROOT = str(Path(__file__).resolve().parents[2])
_CHILD = "import sys; from device.vision.safe_decode import child_main; child_main(int(sys.argv[1]))"


class _Worker:
    """One child process and our end of its socket."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD, str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
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
        fd = _memfd("probe", data)
        try:
            request = REQUEST.pack(header.format.encode().ljust(4), header.width, header.height,
                                   header.orientation, len(data))  # fmt: skip
            self.sock.settimeout(timeout_s)
            socket.send_fds(self.sock, [request], [fd])
            reply, fds, _flags, _addr = socket.recv_fds(self.sock, 4096, 1)
        except TimeoutError:
            raise ImageError(f"{REFUSED}: decoding took longer than {timeout_s:g} s") from None
        except OSError:  # the child died before it read or answered (EPIPE, ECONNRESET)
            reply, fds = b"", []
        finally:
            os.close(fd)
        try:
            if not reply:
                raise ImageError(f"{REFUSED}: the decoder crashed")
            if reply[:1] == b"E":
                raise ImageError(reply[1:].decode("utf-8", "replace"))
            if reply[:1] != b"K" or len(fds) != 1:
                raise ImageError(f"{REFUSED}: the decoder answered nonsense")
            height, width = PIXELS.unpack(reply[1:])
            size = height * width * 3
            if os.fstat(fds[0]).st_size != size or size == 0:
                raise ImageError(f"{REFUSED}: the decoder answered nonsense")
            # Copy-on-write: the caller may change its array; the memfd goes when the array does.
            pixels = mmap.mmap(fds[0], size, access=mmap.ACCESS_COPY)
            return np.frombuffer(pixels, np.uint8).reshape(height, width, 3)
        finally:
            for fd in fds:
                os.close(fd)

    def close(self) -> None:
        self.sock.close()  # the child reads EOF and exits
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        self.sock.close()
        self.proc.kill()
        self.proc.wait()


class DecodePool:
    """Up to ``workers`` children, reused; a caller waits while all of them are busy."""

    def __init__(self, workers: int = 2, timeout_s: float = 10.0) -> None:
        self.workers, self.timeout_s = workers, timeout_s
        self._slots = threading.BoundedSemaphore(workers)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

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
        with self._lock:
            idle, self._idle = self._idle, []
        if os.getpid() == self._pid:  # a forked copy must not end its parent's children
            for worker in idle:
                worker.close()


_settings = {"workers": 2, "timeout_s": 10.0}
_pool: DecodePool | None = None
_pool_lock = threading.Lock()


def configure(workers: int, timeout_s: float) -> None:
    """Set the size and time limit of the process's pool (from ``[vision]``); restarts it if changed."""
    global _pool
    with _pool_lock:
        if _settings == {"workers": workers, "timeout_s": timeout_s}:
            return
        _settings.update(workers=workers, timeout_s=timeout_s)
        old, _pool = _pool, None
    if old is not None:
        old.close()


def default_pool() -> DecodePool:
    """This process's pool (a forked process gets its own: children are never shared)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._pid != os.getpid():
            _pool = DecodePool(**_settings)
        return _pool


@atexit.register
def _close_default() -> None:
    if _pool is not None:
        _pool.close()


def _memfd(name: str, data) -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    view = memoryview(data).cast("B")
    while view:
        view = view[os.write(fd, view) :]
    return fd


# ---- the child -------------------------------------------------------------------------------


def _address_space() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def child_main(fd: int) -> None:
    """Serve decode requests on socket ``fd`` until it closes; one image at a time."""
    import cv2

    from device.vision.decode import ImageHeader, decode_pixels

    cv2.setNumThreads(1)  # no thread pool: fewer mappings, a predictable address space
    sock = socket.socket(fileno=fd)
    err = os.memfd_create("decoder-stderr")  # native decoders' chatter, read after each image
    os.dup2(err, 2)

    def native_messages() -> list[str]:
        os.lseek(err, 0, os.SEEK_SET)
        text = os.read(err, 1 << 16).decode("utf-8", "replace")
        os.ftruncate(err, 0)
        os.lseek(err, 0, os.SEEK_SET)
        return text.splitlines()

    idle = _address_space()
    sock.sendall(b"ready")
    while True:
        try:
            request, fds, _flags, _addr = socket.recv_fds(sock, 256, 1)
        except OSError:
            return
        if not request:
            return
        fmt, width, height, orientation, length = REQUEST.unpack(request)
        header = ImageHeader(fmt.decode().strip(), width, height, orientation)
        limit = idle + length + width * height * BYTES_PER_PIXEL + MARGIN
        try:
            data = mmap.mmap(fds[0], length, access=mmap.ACCESS_READ)
            os.close(fds[0])
            resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
            try:
                rgb = decode_pixels(data, header, native_messages)
            finally:
                resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            out = _memfd("pixels", np.ascontiguousarray(rgb))
        except ImageError as exc:
            sock.sendall(b"E" + str(exc).encode()[:3000])
            continue
        except (MemoryError, cv2.error) as exc:
            ran_out = isinstance(exc, MemoryError) or "alloc" in str(exc).lower()
            why = "it needs more memory than its size allows" if ran_out else "the decoder failed"
            sock.sendall(f"E{REFUSED}: {why}".encode())
            continue
        try:
            socket.send_fds(sock, [b"K" + PIXELS.pack(rgb.shape[0], rgb.shape[1])], [out])
        finally:
            os.close(out)
            del rgb, data
