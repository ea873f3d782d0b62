"""Keep what native libraries print on file descriptor 2 off the user's terminal.

libjpeg ("Premature end of JPEG file"), libpng and the TFLite runtime ("INFO: Created TensorFlow
Lite XNNPACK delegate") write straight to fd 2, where Python's ``sys.stderr`` cannot intercept them.
The CLI promises one line on stderr per failure, so their chatter goes to the debug log instead.

Only model loads use this now (once per process, at start or after an unlock). Image decoding runs
in child processes (safe_decode.py), each of which owns its fd 2 outright, so decodes no longer
take turns on a process-wide lock and nothing a decode prints can swallow another thread's output.
The lock below only keeps two model loads from restoring each other's copy of fd 2.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading

logger = logging.getLogger(__name__)

# fd 2 is process-wide: two model loads redirecting it at once would restore each other's copies.
_lock = threading.Lock()


@contextlib.contextmanager
def native_stderr_to_log(what: str):
    """Within the block, fd 2 goes to a temporary file whose lines are logged at debug level.

    Yields a list that holds those lines once the block has ended, for callers that act on them.
    """
    lines: list[str] = []
    with _lock:
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 (a daemon with stderr closed): nothing to protect
            yield lines
            return
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield lines
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                lines.extend(sink.read().decode("utf-8", "replace").splitlines())
                for line in lines:
                    logger.debug("%s: %s", what, line)
