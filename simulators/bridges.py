"""The broker bridges of deploy/bridges, filled in for brokers on this machine: what
`vigie demo --centre` and the tests run (docs/centre.md, "Bridges").

The files there are the deployment's own: each holds placeholders in double braces
(``centre_address``, ``yard_address``, ...) for the addresses only an installation knows.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

BRIDGES: Final = Path(__file__).resolve().parent.parent / "deploy" / "bridges"
PLACEHOLDER: Final = re.compile(r"\{\{([a-z_]+)\}\}")


class BridgeTemplateError(ValueError):
    """A bridge file that is missing, or a placeholder left without a value."""


def bridge_config(name: str, **values: str) -> str:
    """``deploy/bridges/<name>`` with its placeholders replaced by ``values``."""
    path = BRIDGES / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BridgeTemplateError(f"{path}: {exc} (run from the repository)") from exc
    missing = sorted({m for m in PLACEHOLDER.findall(text) if m not in values})
    if missing:
        raise BridgeTemplateError(f"{path}: no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
