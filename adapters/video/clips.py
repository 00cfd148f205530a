"""Evidence clips: one camera's video around an incident's camera events, written from
the ring (so it starts at a keyframe at or before the wanted start) and then from the
live segments until the wanted end; finished as a plain MP4 (moov first) that
browsers, PyAV and OpenCV play. Also the retention rule. See docs/video.md.

The recorder does blocking file I/O: run it on a thread of its own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Final

import av
import av.error

from adapters.video.media import Segment, SegmentKind

log = logging.getLogger("vigie.video")

FINISH_GRACE_S: Final = 1.0
"""A clip whose end has passed is finished when a frame after the end arrives, or this
long after the end if no frame comes (a stalled camera): it never waits for more."""


_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.-]")


class ClipError(OSError):
    """A clip could not be written (disk full, folder gone)."""


@dataclass(frozen=True, slots=True)
class ClipFile:
    """A finished clip part: one stream format (a resolution change starts a new part)."""

    key: str
    camera: str
    part: int
    start: float  # wall-clock arrival of its first frame (a keyframe)
    end: float  # wall-clock arrival of its last frame
    path: Path
    size: int


class ClipRecorder:
    """Writes one clip (one incident, one camera) as it happens, to fragmented-MP4 part
    files in ``folder``, each remuxed (not re-encoded) to a plain MP4 when it ends."""

    def __init__(self, key: str, camera: str, folder: Path, start: float, end: float) -> None:
        self.key, self.camera, self.folder = key, camera, folder
        self.start, self.end = start, end
        self.done: list[ClipFile] = []
        self._part = 0
        self._file: BinaryIO | None = None
        self._init: Segment | None = None
        self._first = 0.0
        self._last = 0.0
        self._synced = False
        self._ended = False  # the first frame past the end is written: nothing more
        self._path: Path | None = None  # the part being written

    def begin(self, gops: Iterable[tuple[Segment | None, list[Segment]]]) -> None:
        """Start from the ring: GOPs from the keyframe at or before ``start``."""
        for header, items in gops:
            if header is not None and header is not self._init:
                self.add(header)
            for item in items:
                self.add(item)

    def extend(self, end: float) -> None:
        self.end = max(self.end, end)

    def due(self, now: float) -> bool:
        return now > self.end + FINISH_GRACE_S

    def add(self, segment: Segment) -> bool:
        """Write one segment; True once a frame past the end has arrived (finish now).
        That frame is written too, so that the clip covers its end whatever the frame
        rate."""
        if self._ended:
            return True
        if segment.kind is SegmentKind.INIT:
            if self._file is not None:
                self._close_part()  # a new format: a new part
            self._init, self._synced = segment, False
            return False
        if segment.t > self.end:
            self._ended = True
            if self._file is None:
                return True
        if self._init is None or not (self._synced or segment.keyframe):
            return self._ended
        if self._file is None:
            self._open_part(segment.t)
        self._synced = True
        self._write(segment.payload)
        self._last = segment.t
        return self._ended

    def finish(self) -> list[ClipFile]:
        if self._file is not None:
            self._close_part()
        return self.done

    def abandon(self) -> None:
        """Stop without a clip (the disk is full): remove what was written."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)
            _started(self._path).unlink(missing_ok=True)

    def _open_part(self, t: float) -> None:
        assert self._init is not None
        self._part += 1
        self._first = t
        # The part's name says whose it is, and a note beside it when it began, so that a
        # part left by a service that was killed can be finished at the next start.
        name = _UNSAFE.sub("_", f"{self.key}.{self.camera}.{self._part}")
        self._path = self.folder / f"{name}.fmp4"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _started(self._path).write_text(repr(t))
            self._file = self._path.open("wb")
        except OSError as exc:
            raise ClipError(f"cannot start clip {self.key}/{self.camera}: {exc}") from exc
        self._write(self._init.payload)

    def _write(self, data: bytes) -> None:
        assert self._file is not None
        try:
            self._file.write(data)
        except OSError as exc:
            raise ClipError(f"cannot write clip {self.key}/{self.camera}: {exc}") from exc

    def _close_part(self) -> None:
        assert self._file is not None and self._path is not None
        source = self._path
        try:
            self._file.close()
        except OSError as exc:
            raise ClipError(f"cannot close clip {self.key}/{self.camera}: {exc}") from exc
        finally:
            self._file = None
        # The final name is unique: an incident may have several clips of one camera
        # (a later event after a clip ended, a restart of the service).
        target = source.with_name(f"{source.stem}.{_stamp(self._first)}Z.mp4")
        remux(source, target)
        source.unlink(missing_ok=True)
        _started(source).unlink(missing_ok=True)
        size = target.stat().st_size
        self.done.append(
            ClipFile(self.key, self.camera, self._part, self._first, self._last, target, size)
        )


def _started(part: Path) -> Path:
    """The note beside a part being written: the wall-clock time of its first frame."""
    return part.with_name(part.name + ".start")


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y%m%dT%H%M%S.%f")[:-3]


def remux(source: Path, target: Path, salvage: bool = False) -> float:
    """Fragmented MP4 to a plain MP4 with its index first, packets copied as they are;
    the timeline starts at zero. Returns the span of the packets, in seconds. With
    ``salvage``, a part cut short (its last fragment torn) keeps every whole packet
    before the tear."""
    try:
        with (
            av.open(str(source)) as inp,
            av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"}) as out,
        ):
            s_in = inp.streams.video[0]
            s_out = out.add_stream_from_template(s_in)
            first: int | None = None
            last = 0
            packets = inp.demux(s_in)
            while True:
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except av.error.FFmpegError:
                    if salvage and first is not None:
                        break  # the tear: what came before it is the clip
                    raise
                if packet.dts is None:
                    continue
                if salvage and packet.is_corrupt:
                    break  # torn: the demuxer found less than the fragment declared
                if first is None:
                    first = packet.dts
                packet.dts -= first
                last = max(last, packet.dts)
                if packet.pts is not None:
                    packet.pts -= first
                packet.stream = s_out
                out.mux(packet)
            if first is None:
                raise ClipError(f"{source.name} holds no video")
            return float(last * s_in.time_base) if s_in.time_base is not None else 0.0
    except (av.error.FFmpegError, OSError) as exc:
        target.unlink(missing_ok=True)
        raise ClipError(f"cannot remux {source.name}: {exc}") from exc


_LEFT_PART: Final = re.compile(r"^(?P<key>[^.]+)\.(?P<camera>[^.]+)\.(?P<part>\d+)\.fmp4$")


def salvage(folder: Path) -> list[ClipFile]:
    """Finish the parts a killed service left unfinished in ``folder``: each becomes the
    clip it was, up to where it stopped (its end, the last whole frame written). A part
    that cannot be read is renamed ``.unreadable`` and left for a person to look at."""
    found: list[ClipFile] = []
    for source in sorted(folder.glob("*.fmp4")) if folder.is_dir() else []:
        match = _LEFT_PART.match(source.name)
        if match is None:
            continue
        note = _started(source)
        try:
            t0 = float(note.read_text())
        except (OSError, ValueError):
            t0 = source.stat().st_mtime  # no note: dated by its last write, and
            late = True  # its start set back by its span below
        else:
            late = False
        remuxed = source.with_name(source.name + ".mp4")
        try:
            span = remux(source, remuxed, salvage=True)
        except ClipError as exc:
            log.error("unfinished clip %s cannot be read (%s): kept as .unreadable", source, exc)
            source.rename(source.with_name(source.name + ".unreadable"))
            continue
        t0 -= span if late else 0.0
        target = remuxed.replace(source.with_name(f"{source.stem}.{_stamp(t0)}Z.mp4"))
        source.unlink(missing_ok=True)
        note.unlink(missing_ok=True)
        size = target.stat().st_size
        part = int(match["part"])
        found.append(ClipFile(match["key"], match["camera"], part, t0, t0 + span, target, size))
    return found


@dataclass(frozen=True, slots=True)
class StoredClip:
    """What the retention rule needs to know of a kept clip."""

    path: str
    size: int
    start: float
    resolved_at: float | None  # None: its incident is still open


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    remove: list[StoredClip]
    expired: int  # removed because their incident was resolved long enough ago
    over_budget: int  # removed, oldest resolved first, to fit the disk budget
    still_over_by: int  # bytes over budget after that: only open incidents' clips remain


def plan_retention(
    clips: Sequence[StoredClip], now: float, keep_days: float, budget_bytes: int
) -> RetentionPlan:
    """Clips to remove: those of incidents resolved more than ``keep_days`` ago, then
    the oldest resolved ones until the total fits ``budget_bytes``. Never a clip of an
    open incident."""
    horizon = now - keep_days * 86400
    expired = [c for c in clips if c.resolved_at is not None and c.resolved_at < horizon]
    gone = {c.path for c in expired}
    kept = [c for c in clips if c.path not in gone]
    total = sum(c.size for c in kept)
    budget: list[StoredClip] = []
    for c in sorted((c for c in kept if c.resolved_at is not None), key=lambda c: c.start):
        if total <= budget_bytes:
            break
        budget.append(c)
        total -= c.size
    return RetentionPlan(expired + budget, len(expired), len(budget), max(0, total - budget_bytes))
