"""``vigie replay FILE --site SITE --report REPORT``: the file side of replay."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from fusion.events import Rejection
from fusion.replay import Replay
from fusion.site import Site

log = logging.getLogger("vigie.replay")

PROGRESS_MIN_BYTES = 4 * 1024 * 1024
"""Below this a replay finishes before a progress bar would be read."""


def replay_file(recording: Path, site: Site, *, progress: bool | None = None) -> dict[str, Any]:
    """Replay a recording file on a virtual clock and return the report."""

    def on_reject(lineno: int, rejection: Rejection) -> None:
        log.warning("line %d: %s", lineno, rejection.log_line())

    replay = Replay(site, on_reject=on_reject)
    size = recording.stat().st_size
    if progress is None:
        progress = sys.stderr.isatty() and size >= PROGRESS_MIN_BYTES
    with (
        recording.open("rb") as f,
        tqdm(total=size, unit="B", unit_scale=True, disable=not progress, desc="replay") as bar,
    ):
        done = 0
        for lineno, line in enumerate(f, start=1):
            replay.feed(line, lineno)
            done += len(line)
            if lineno % 65536 == 0:
                bar.update(done)
                done = 0
        bar.update(done)
    return replay.finish()


def write_report(report: dict[str, Any], path: Path) -> None:
    """Write atomically: a reader never sees half a report."""
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
