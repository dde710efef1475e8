"""Per-process journals: where a choice waits, durable, while the ledger cannot take it.

Each process appends to a file of its own in the spool directory and holds an exclusive
``flock`` on it for as long as it lives. Only that process ever truncates its file, so no
process can drop bytes another has written. When a process dies (a crash, ``kill -9``) the
kernel releases its lock, and any other process on the machine may then claim the file:
write its events to the ledger and delete it. Event ids make every replay idempotent.

An append is acknowledged only once it is wholly written and ``fsync``-ed; a failed or
short write is cut back off the file, so a full disk never leaves half a line behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .events import ConsentEvent

__all__ = ["Journal", "claim_orphans"]

logger = logging.getLogger("consent_middleware")

_SUFFIX = ".journal"


class Journal:
    """This process's own append-only file of events waiting for the ledger."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._fd, self.path = _create(self.directory)
        #: Bytes known to be whole lines, written and synced.
        self._size = 0
        # Counts appends and drops, so that a drop can tell the journal it read from the
        # journal now, even when both hold the same number of bytes.
        self._generation = 0

    def append(self, events: Sequence[ConsentEvent]) -> None:
        """Write ``events`` and ``fsync`` them; :class:`OSError` if they are not durable.

        Nothing of a failed append stays in the file.
        """
        data = "".join(event.to_json() + "\n" for event in events).encode()
        with self._lock:
            self._follow_if_removed()
            fd = self._fd
            try:
                if os.fstat(fd).st_size != self._size:
                    os.ftruncate(fd, self._size)  # what an earlier failed append left
                _write_all(fd, data)
                os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, self._size)
                raise
            self._size += len(data)
            self._generation += 1

    def read(self) -> tuple[list[ConsentEvent], int]:
        """Every event in the journal, and a mark of what was read (for :meth:`drop`)."""
        with self._lock:
            size, mark = self._size, self._generation
            data = os.pread(self._fd, size, 0) if size else b""
        return _parse(data, self.path), mark

    @property
    def empty(self) -> bool:
        return self._size == 0

    def drop(self, mark: int) -> bool:
        """Empty the journal, now safe in the ledger, unless it changed since the
        :meth:`read` that gave ``mark``; ``True`` if it was emptied."""
        with self._lock:
            if mark != self._generation:
                return False
            os.ftruncate(self._fd, 0)
            self._size = 0
            self._generation += 1
            return True

    def check(self) -> None:
        """Follow the journal to a new file now if ours was deleted."""
        with self._lock:
            self._follow_if_removed()

    def close(self) -> None:
        """Release the file: deleted when empty, else left for another process to claim."""
        with self._lock:
            if self._fd < 0:
                return
            if self._size == 0:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            os.close(self._fd)  # releases the lock
            self._fd = -1

    def _follow_if_removed(self) -> None:
        """Start a new file when someone deleted ours (its directory removed, say): what
        it held is carried over, so nothing is lost with it."""
        if os.fstat(self._fd).st_nlink:
            return
        logger.error(
            "consent spool file %s was deleted while in use; starting a new one in %s",
            self.path,
            self.directory,
        )
        held = os.pread(self._fd, self._size, 0) if self._size else b""
        fd, path = _create(self.directory)
        try:
            _write_all(fd, held)
            os.fsync(fd)
        except OSError:
            os.unlink(path)
            os.close(fd)
            raise
        os.close(self._fd)
        self._fd, self.path = fd, path


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _create(directory: Path) -> tuple[int, Path]:
    """A new journal file, locked before its name appears, so that no other process can
    take it for an orphan."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = f"{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(4)}"
    hidden = directory / f".{name}.new"
    fd = os.open(hidden, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path = directory / f"{name}{_SUFFIX}"
        os.rename(hidden, path)
        _sync_directory(directory)
    except OSError:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(hidden)
        raise
    return fd, path


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _parse(data: bytes, path: Path) -> list[ConsentEvent]:
    events = []
    for line in data.splitlines():
        try:
            events.append(ConsentEvent.from_mapping(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            # Only whole, synced appends are ever acknowledged: this is not one of them.
            logger.error("spool %s holds an unreadable line; it is skipped", path)
    return events


def claim_orphans(
    directory: str | Path, write: Callable[[list[ConsentEvent]], object], *, own: Path | None
) -> int:
    """Write the journals of dead processes into the ledger with ``write`` and delete
    them; the number of events written. A journal whose owner lives is left alone."""
    claimed = 0
    for path in _journals(Path(directory)):
        if path == own:
            continue
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # another process claimed it first
        except OSError as error:
            logger.error("consent spool %s cannot be claimed: %s", path, error)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if not os.fstat(fd).st_nlink:
                continue  # claimed and deleted while we waited
            data = os.pread(fd, os.fstat(fd).st_size, 0)
            events = _parse(data, path)
            if events:
                write(events)  # raises while the ledger is away: the file stays
            os.unlink(path)
            claimed += len(events)
            logger.info("consent spool %s of an ended process written to the ledger", path)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):  # else its owner is alive
                logger.error("consent spool %s cannot be claimed: %s", path, error)
        finally:
            os.close(fd)
    return claimed


def _journals(directory: Path) -> Iterator[Path]:
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return
    for name in names:
        if name.endswith(_SUFFIX) and not name.startswith("."):
            yield directory / name
