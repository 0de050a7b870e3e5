"""Go Text Protocol v2, the client side: ``GtpClient`` drives an external engine (GNU Go, or our own
``rlengine gtp``) in a child process over pipes, with a timeout on every response and a clean
shutdown.  The engine side is ``games.go.gtp``; ``GtpError`` (defined here) is the error both sides
raise.
"""

from __future__ import annotations

import collections
import logging
import queue
import re
import subprocess
import threading
import time
from typing import Sequence

__all__ = ["GtpClient", "GtpError", "GtpResponseError", "GtpTimeout"]

log = logging.getLogger(__name__)


class GtpError(Exception):
    """A GTP command failed.  The engine (``games.go.gtp``) sends the message back as ``? message``;
    the client raises it when the external engine cannot be started, exits or closes its input."""


class GtpResponseError(GtpError):
    """The external engine answered ``? message``."""

    def __init__(self, command: str, message: str):
        super().__init__(f"{command!r} failed: {message}")
        self.command = command
        self.message = message


class GtpTimeout(GtpError):
    """The external engine did not answer in time."""


class GtpClient:
    """Talks GTP to an external engine in a child process.

    ``send(command)`` returns the response text (without ``=``) or raises
    ``GtpResponseError`` for ``?`` and ``GtpTimeout`` when the engine is silent
    for ``timeout`` seconds (after which the client is closed).
    """

    def __init__(self, argv: Sequence[str], *, timeout: float = 30.0, cwd: str | None = None,
                 env: dict[str, str] | None = None):
        self.argv = list(argv)
        self.timeout = timeout
        try:
            self._proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, bufsize=1, cwd=cwd, env=env)
        except OSError as exc:
            raise GtpError(f"cannot start engine {' '.join(self.argv)!r}: {exc}") from None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        threading.Thread(target=self._read, name="gtp-stdout", daemon=True).start()
        threading.Thread(target=self._read_stderr, name="gtp-stderr", daemon=True).start()
        self._next_id = 1

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr_tail.append(line.rstrip("\n"))
            log.debug("[%s] %s", self.argv[0], line.rstrip("\n"))

    def _exit_report(self) -> str:
        try:
            code = self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        tail = self.stderr_tail
        return f"exit code {code}" + (f"; its stderr ends with:\n{tail}" if tail else "")

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    @property
    def stderr_tail(self) -> str:
        """The last lines (at most 20) the engine wrote to stderr."""
        return "\n".join(self._stderr_tail)

    def send(self, command: str, *, timeout: float | None = None) -> str:
        if not self.alive:
            raise GtpError(f"engine {self.argv[0]!r} is not running ({self._exit_report()})")
        cmd_id = self._next_id
        self._next_id += 1
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(f"{cmd_id} {command}\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise GtpError(f"engine {self.argv[0]!r} closed its input: {exc}") from None
        lines = self._response(command, timeout if timeout is not None else self.timeout)
        head = lines[0]
        status, rest = head[0], head[1:]
        got_id = re.match(r"\d+", rest)
        if got_id and int(got_id.group()) == cmd_id:
            rest = rest[got_id.end():]
        text = "\n".join([rest.strip()] + lines[1:]).strip()
        if status == "?":
            raise GtpResponseError(command, text)
        return text

    def _response(self, command: str, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(remaining, 0.0))
            except queue.Empty:
                self.close(graceful=False)
                raise GtpTimeout(f"engine {self.argv[0]!r} gave no answer to {command!r} within {timeout:g} s") from None
            if line is None:
                raise GtpError(f"engine {self.argv[0]!r} exited while answering {command!r} ({self._exit_report()})")
            line = line.rstrip("\r\n")
            if not lines:
                if not line.strip():
                    continue  # stray blank line before a response
                if line[0] not in "=?":
                    log.debug("ignoring non-GTP output from %s: %r", self.argv[0], line)
                    continue
                lines.append(line)
            elif line.strip() == "":
                return lines
            else:
                lines.append(line)

    def close(self, *, graceful: bool = True, timeout: float = 5.0) -> None:
        """Send ``quit`` (when graceful), then wait, then kill."""
        proc = self._proc
        if proc.poll() is None and graceful:
            try:
                self.send("quit", timeout=timeout)
            except GtpError:
                pass
        if proc.poll() is None:
            try:
                proc.wait(timeout=timeout if graceful else 0.1)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass

    def __enter__(self) -> GtpClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
