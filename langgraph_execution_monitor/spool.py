"""An optional local spool: the batch in flight survives the process.

Without it, a process killed (SIGKILL, OOM killer, a crash) loses every event the
writer held. With `SPOOL_DIR` set, the writer (never the hot path) appends each
batch's rows to a file of its own before sending them, and empties the file once
they are committed; at shutdown, what the drain limit left unwritten is appended
too. A writer that starts replays the files of writers that are gone, then
deletes them. Replaying is safe because `log_batch` is idempotent (a repeated
start or finish changes nothing), so a batch committed just before the kill, and
replayed, is not written twice.

What a SIGKILL can still lose: the events in the buffer that no batch took yet,
normally one flush interval's worth (more while the database is down and the
buffer fills), and a batch whose append the kill cut in the middle (its torn last
line is skipped).

Each process holds an exclusive `flock` on its own file for as long as it runs;
the kernel releases it when the process dies, which is how a starting writer
tells a dead writer's file (lock free: replay it) from a live one's (skip it),
with any number of workers or processes sharing the directory. The file is
flushed to the operating system on every write (it survives the process, not a
power loss: no fsync, which would cost a disk flush per batch).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import orjson

logger = logging.getLogger(__name__)

Row = tuple[Any, ...]
PATTERN = "spool-*.jsonl"


class Spool:
    """This process's spool file, and the files of processes that are gone."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / f"spool-{os.getpid()}-{uuid.uuid4().hex[:12]}.jsonl"
        # Appends only: after a truncate, the next write starts at 0 again.
        self._file: BinaryIO | None = self.path.open("ab")
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._size = 0

    @property
    def empty(self) -> bool:
        return self._size == 0

    def append(self, rows: Sequence[Row]) -> None:
        """Add rows (one JSON array per line) and hand them to the OS."""
        assert self._file is not None, "spool closed"
        data = b"".join([orjson.dumps(row) + b"\n" for row in rows])
        self._file.write(data)
        self._file.flush()
        self._size += len(data)

    def clear(self) -> None:
        """Everything spooled is committed: empty the file."""
        if self._file is not None and self._size:
            self._file.truncate(0)
            self._size = 0

    def close(self) -> None:
        """Release the file: deleted when empty, else kept for the next start."""
        file, self._file = self._file, None
        if file is None:
            return
        if self._size == 0:
            with contextlib.suppress(OSError):
                self.path.unlink()
        file.close()  # releases the lock

    def orphans(self) -> Iterator[Orphan]:
        """The spool files of writers that are gone, each locked by this process
        until `discard` (another starting writer skips it meanwhile)."""
        for path in sorted(self.directory.glob(PATTERN)):
            if path == self.path:
                continue
            try:
                file = path.open("rb")
            except FileNotFoundError:  # another writer took it and finished
                continue
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its writer is alive (or another is replaying it)
                file.close()
                continue
            if not path.exists():  # replayed and deleted by another writer meanwhile
                file.close()
                continue
            yield Orphan(path, file)


class Orphan:
    """A dead writer's spool file, locked by this process."""

    def __init__(self, path: Path, file: BinaryIO) -> None:
        self.path = path
        self._file = file

    def rows(self) -> list[Row]:
        rows: list[Row] = []
        torn = 0
        for line in self._file.read().split(b"\n"):
            if not line:
                continue
            try:
                rows.append(tuple(orjson.loads(line)))
            except orjson.JSONDecodeError:  # a write the kill cut short
                torn += 1
        if torn:
            logger.warning("spool %s: %d torn lines skipped", self.path.name, torn)
        return rows

    def discard(self) -> None:
        """Its rows are committed: delete it."""
        with contextlib.suppress(OSError):
            self.path.unlink()
        self._file.close()

    def release(self) -> None:
        """Not replayed after all (shutdown): leave it for the next start."""
        self._file.close()
