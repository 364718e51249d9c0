"""A child process whose output is handed on chunk by chunk, as the CLI's streaming RPCs want it."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final, Literal

CHUNK_BYTES: Final = 4096
STOP_TIMEOUT_SECONDS: Final = 5.0

Stream = Literal["stdout", "stderr"]


@dataclass(frozen=True)
class Chunk:
    stream: Stream
    data: bytes


@dataclass(frozen=True)
class Exited:
    code: int


class Streamed:
    """Starts `argv` and yields its output as Chunks in the order read, then one Exited.

    `stop()` (from any thread: a cancelled RPC's callback) terminates the child; the iteration
    then ends with its exit status.
    """

    def __init__(self, argv: Sequence[str | Path], *, cwd: str | Path, env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            [str(a) for a in argv],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._chunks: queue.Queue[Chunk | None] = queue.Queue()
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=("stdout", self.process.stdout), daemon=True),
            threading.Thread(target=self._read, args=("stderr", self.process.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Stream, pipe: IO[bytes]) -> None:
        fd = pipe.fileno()
        try:
            while data := os.read(fd, CHUNK_BYTES):
                self._chunks.put(Chunk(stream, data))
        finally:
            self._chunks.put(None)

    def __iter__(self) -> Iterator[Chunk | Exited]:
        open_streams = len(self._readers)
        while open_streams:
            chunk = self._chunks.get()
            if chunk is None:
                open_streams -= 1
            else:
                yield chunk
        yield Exited(self.process.wait())

    def stop(self) -> None:
        """Terminate the child, and kill it if it is still there after STOP_TIMEOUT_SECONDS.

        Returns at once: gRPC runs a cancelled call's callbacks on its one polling thread, which must not wait.
        """
        if self.process.poll() is None:
            self.process.terminate()
            threading.Thread(target=self._kill_if_lingering, daemon=True).start()

    def _kill_if_lingering(self) -> None:
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
