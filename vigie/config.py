"""The service's own configuration (what ``vigie serve`` was told on its command line)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from adapters.mqtt_client import Broker
from fusion.site import Site


class VideoSettings(BaseModel):
    """Where evidence clips are kept and for how long (docs/video.md, "Clips")."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    clip_folder: Path = Field(
        default=Path("data/clips"), description="Folder of the clip files (MP4)."
    )
    clip_keep_days: float = Field(
        default=30,
        ge=0,
        description="Clips of an incident resolved longer ago than this are removed. "
        "Open incidents' clips are never removed.",
    )
    clip_budget_bytes: int = Field(
        default=50 * 1024**3,
        ge=0,
        description="Disk budget of the clip folder: past it, the clips of the incidents "
        "resolved first are removed first (never an open incident's).",
    )
    clip_reserve_bytes: int = Field(
        default=512 * 1024**2,
        ge=0,
        description="Clips stop (and a fault is shown) while less than this is free on the "
        "clip folder's disk, so that the store, on the same disk as a rule, keeps room.",
    )


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    site: Site
    broker: Broker
    db_url: str
    client_id: str
    run_cameras: bool = True
    site_path: str | None = None
    video: VideoSettings = field(default_factory=VideoSettings)
