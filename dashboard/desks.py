"""What a desk may see of the intelligence picture (docs/protocol.md §9, §10).

An intelligence item that names ``desks`` is never sent to, nor shown to, a user of
another desk: not the item, not its id in an incident's links, not the zones it puts
on watch. Everything else of the picture is the same for every desk. These filters
run on JSON already built by :mod:`fusion.wire`, at the edge, per user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Visible = Callable[[str], bool]
"""Whether an item (by id) may be shown to the desk at hand."""


def incident_for(view: dict[str, Any], visible: Visible) -> dict[str, Any]:
    links = view.get("intel")
    if not links:
        return view
    kept = [i for i in links if visible(i)]
    return view if len(kept) == len(links) else {**view, "intel": kept}


def item_visible(item: dict[str, Any], desk: str | None) -> bool:
    desks = item.get("desks")
    return desks is None or (desk is not None and desk in desks)


def changes_for(
    changes: list[dict[str, Any]], desk: str | None, visible: Visible
) -> list[dict[str, Any]]:
    """A frame's changes as ``desk`` may see them."""
    out: list[dict[str, Any]] = []
    for c in changes:
        kind = c.get("type")
        if kind == "intel":
            if item_visible(c["item"], desk):
                out.append(c)
        elif kind == "incident":
            view = incident_for(c["incident"], visible)
            out.append(c if view is c["incident"] else {**c, "incident": view})
        elif kind == "watch":
            items = [i for i in c.get("items", ()) if visible(i)]
            out.append({**c, "items": items, "watch": bool(items)})
        else:
            out.append(c)
    return out


def touches_intel(changes: list[dict[str, Any]]) -> bool:
    """Whether a frame holds anything a desk filter could change (most frames do not,
    and are then encoded once for every client)."""
    for c in changes:
        kind = c.get("type")
        if kind in ("intel", "watch"):
            return True
        if kind == "incident" and c["incident"].get("intel"):
            return True
    return False


def picture_for(picture: dict[str, Any], desk: str | None, visible: Visible) -> dict[str, Any]:
    """The tactical picture as ``desk`` may see it."""
    return {
        **picture,
        "incidents": [incident_for(v, visible) for v in picture["incidents"]],
        "intel": [item for item in picture.get("intel", ()) if item_visible(item, desk)],
        "zones": [_zone_for(z, visible) for z in picture["zones"]],
    }


def _zone_for(zone: dict[str, Any], visible: Visible) -> dict[str, Any]:
    items = [i for i in zone.get("intel", ()) if visible(i)]
    return {**zone, "intel": items, "watch": bool(items)}
