"""A joint centre's copy of one site: the picture and incidents as the site's feed tells
them, and the state of the link (docs/centre.md, "Catching up").

Pure: messages and the time in, the copy updated and :class:`Effects` out (frames for
the pages, what the store must write, whether to ask the site for a snapshot). The
centre's service does the I/O.

The rules, per site:

- ``changes`` messages are applied in ``seq`` order, each once. One that arrives early
  waits (up to :data:`PENDING_LIMIT`); a gap means something was lost on the way: ask
  for a snapshot. So does a ``heartbeat`` whose ``seq`` is ahead of what arrived (the
  site publishes a heartbeat after the changes it counts), a new ``epoch`` (a new store
  at the site) or a new ``boot`` (the site restarted and may have committed changes it
  never published).
- A ``snapshot`` replaces the copy whole, unless it is older than what was applied;
  changes that waited are then applied on top.
- The link is ``up`` while the site was heard within :data:`LINK_SILENCE_S`, its online
  flag or bridge did not say it went, the copy is whole (a snapshot of this epoch,
  nothing missing up to the last ``seq`` heard of), and the site has answered since the
  link was last lost. Otherwise it is ``lost``, as of the last time the site was heard.
  The answer matters after a cut: what the bridge queued comes first, heartbeats
  included, so only a ``ping`` sent now and answered (a heartbeat with its ``nonce``,
  published after everything queued) shows that the copy has caught up with the site.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from dashboard.desks import Visible, changes_for, item_visible, picture_for
from fusion.site import Site

LINK_SILENCE_S: Final = 8.0
"""Four of the site's 2 s heartbeats: a site or bridge gone silent is shown lost 8 to
8.5 s after its last word (the watchdog looks twice a second), well within the 15 s
promised, and one heartbeat held up by a busy machine is not taken for a cut."""

SNAPSHOT_RETRY_S: Final = 5.0
"""A snapshot asked for and not received is asked for again after this long, as long
as the site is heard (requests to a silent site would only queue at the bridge)."""

PENDING_LIMIT: Final = 20_000
"""Change messages kept while waiting for a missing one or a snapshot (about 20 MiB at
most); past it they are dropped, and the gap they leave asks for another snapshot."""

UNKNOWN: Final = "unknown"
"""A zone's or device's state before the site was ever heard."""


STORED_ONLY: Final = {"acknowledged_t": None, "outcome": None, "disruption": None, "closed_t": None}
"""What a site's store lists of an incident beyond its change's view, before anything
set it (docs/protocol.md §7, §11)."""


class Link(StrEnum):
    UP = "up"
    LOST = "lost"


class BadMessage(ValueError):
    """A message from a site that cannot be applied; the copy is resynchronised."""


@dataclass(slots=True)
class Effects:
    """What one step of the mirrors asks of the service."""

    frames: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Per site: changes for the pages of the desks that see it, each with ``site``."""
    ask: dict[str, str] = field(default_factory=dict)
    """Sites to ask for a snapshot, with the request's nonce."""
    ping: dict[str, str] = field(default_factory=dict)
    """Sites to ask for a heartbeat now, with the request's nonce."""
    replaced: set[str] = field(default_factory=set)
    """Sites whose copy was replaced whole."""
    incidents: dict[str, set[str]] = field(default_factory=dict)
    """Per site: incidents to write."""
    sites: set[str] = field(default_factory=set)
    """Sites whose state (link, numbering) is to be written."""
    pictures: set[str] = field(default_factory=set)
    """Sites whose picture changed (written with their state)."""
    replies: list[dict[str, Any]] = field(default_factory=list)

    def frame(self, site: str, change: dict[str, Any]) -> None:
        self.frames.setdefault(site, []).append(change)

    def touched(self, site: str, incident: str) -> None:
        self.incidents.setdefault(site, set()).add(incident)

    @property
    def store_work(self) -> bool:
        return bool(self.replaced or self.incidents or self.sites or self.replies)


@dataclass(frozen=True, slots=True)
class Restored:
    """A mirror as the centre's store kept it."""

    epoch: str
    seq: int
    boot: str
    synced: bool
    heard: float | None
    lost_since: float | None
    picture: dict[str, Any] | None
    incidents: tuple[dict[str, Any], ...]


class SiteMirror:
    """The centre's copy of one site; see the module docstring."""

    def __init__(
        self,
        site_id: str,
        name: str,
        site: Site,
        now: float,
        *,
        restored: Restored | None = None,
        run: str = "",
    ) -> None:
        self.id = site_id
        self.name = name
        self.site = site
        self.epoch = ""
        self.seq = 0
        self.boot = ""
        self.synced = False
        self.reported = 0
        self.heard: float | None = None
        self.offline = False
        self.link = Link.LOST
        self.lost_since: float | None = now
        self.asked: float | None = None
        """When the snapshot being waited for was asked (None: none awaited)."""
        self.confirmed = False
        """The site answered a request sent since the link was last lost."""
        self.awaited = ""
        """The nonce of the latest request (ping or snapshot): its answer confirms."""
        self.pinged: float | None = None
        self._run = run
        self._nonces = itertools.count(1)
        self.picture: dict[str, Any] = initial_picture(site)
        self.incidents: dict[str, dict[str, Any]] = {}
        self.intel: dict[str, dict[str, Any]] = {}
        self.pending: dict[int, dict[str, Any]] = {}
        self.dropped = 0
        if restored is not None:
            self.epoch, self.seq, self.boot = restored.epoch, restored.seq, restored.boot
            self.synced, self.heard = restored.synced, restored.heard
            self.reported = restored.seq
            self.lost_since = restored.lost_since or now
            if restored.picture is not None:
                self.picture = restored.picture
                self.intel = {str(i["id"]): i for i in restored.picture.get("intel", [])}
            self.incidents = {i["id"]: i for i in restored.incidents}
        self._index()

    # -- messages ------------------------------------------------------------------------

    def receive(self, kind: str, body: Any, now: float, fx: Effects) -> None:
        """One message of the site's feed (``kind`` is the last level of its topic)."""
        try:
            if kind == "bridge":
                if body == b"0":
                    self.offline = True
            elif not isinstance(body, dict):
                raise BadMessage(f"a {kind} message that is not a JSON object")
            elif kind == "online":
                self._online(body, now, fx)
            elif kind == "heartbeat":
                self._heartbeat(body, now, fx)
            elif kind == "changes":
                self._changes(body, now, fx)
            elif kind == "snapshot":
                self._snapshot(body, now, fx)
            elif kind == "replies":
                self._heard(now)
                reply = {**body, "site": self.id}
                fx.replies.append(reply)
                fx.frame(self.id, {**reply, "type": "reply"})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self._ask(now, fx, force=True)
            self._update_link(now, fx)
            raise BadMessage(f"{kind} from {self.id}: {exc}") from exc
        self._update_link(now, fx)

    def tick(self, now: float, fx: Effects) -> None:
        """The watchdog: silence, and snapshots or pings asked for that never came."""
        asked = self.asked
        if self._heard_within(now) and asked is not None and now - asked > SNAPSHOT_RETRY_S:
            self._ask(now, fx, force=True)
        self._update_link(now, fx)

    def _heard_within(self, now: float) -> bool:
        return self.heard is not None and now - self.heard <= LINK_SILENCE_S

    def _heard(self, now: float) -> None:
        self.heard = now
        self.offline = False

    def _online(self, body: dict[str, Any], now: float, fx: Effects) -> None:
        if body["online"] is True:
            self._heard(now)
        else:
            self.offline = True

    def _heartbeat(self, body: dict[str, Any], now: float, fx: Effects) -> None:
        self._heard(now)
        seq = _int(body["seq"])
        if self.awaited and body.get("nonce") == self.awaited:
            self.confirmed = True
        if body["epoch"] != self.epoch or not self.synced:
            self._ask(now, fx)
            return
        if body["boot"] != self.boot:
            self._ask(now, fx)  # a new run of the site: what did it commit unpublished?
        self.reported = max(self.reported, seq)
        if seq > self.seq and self.seq + 1 not in self.pending:
            self._ask(now, fx)  # the changes it counts came before it, or never will

    def _changes(self, body: dict[str, Any], now: float, fx: Effects) -> None:
        self._heard(now)
        seq = _int(body["seq"])
        if not isinstance(body["changes"], list):
            raise BadMessage("changes is not a list")
        if self.synced and body["epoch"] != self.epoch:
            self._ask(now, fx)
            return
        if self.synced and seq <= self.seq:
            return  # delivered again
        if self.synced and seq == self.seq + 1:
            self._apply(body, fx)
            self._drain(fx)
            return
        if len(self.pending) < PENDING_LIMIT:
            self.pending[seq] = body
        else:
            self.dropped += 1
        self._ask(now, fx)

    def _snapshot(self, body: dict[str, Any], now: float, fx: Effects) -> None:
        self._heard(now)
        seq = _int(body["seq"])
        fresh = body["epoch"] != self.epoch or body["boot"] != self.boot or not self.synced
        if not fresh and seq < self.seq:
            return  # older than what was applied since
        picture = body["picture"]
        incidents = body["incidents"]
        if not isinstance(picture, dict) or not isinstance(incidents, list):
            raise BadMessage("a snapshot without its picture or incidents")
        self.picture = {k: v for k, v in picture.items() if k != "incidents"}
        self.incidents = {str(i["id"]): {**i, "site": self.id} for i in incidents}
        self.intel = {str(i["id"]): i for i in picture.get("intel", []) if isinstance(i, dict)}
        self.epoch, self.seq, self.boot = str(body["epoch"]), seq, str(body["boot"])
        self.synced = True
        self.reported = max(self.reported, seq) if not fresh else seq
        self.asked = None
        if self.awaited and body.get("nonce") == self.awaited:
            self.confirmed = True
        self._index()
        fx.replaced.add(self.id)
        fx.sites.add(self.id)
        fx.pictures.add(self.id)
        fx.frame(self.id, {"type": "site", "site": self.id, "change": "replaced"})
        self._drain(fx)

    def _drain(self, fx: Effects) -> None:
        for seq in [s for s in self.pending if s <= self.seq]:
            del self.pending[seq]
        while (body := self.pending.pop(self.seq + 1, None)) is not None:
            if body["epoch"] != self.epoch:
                break
            self._apply(body, fx)

    def _ask(self, now: float, fx: Effects, force: bool = False) -> None:
        if self.asked is None or force:
            self.asked = now
            fx.ask[self.id] = self._nonce()

    def _ping(self, now: float, fx: Effects) -> None:
        if self.pinged is None or now - self.pinged > SNAPSHOT_RETRY_S:
            self.pinged = now
            fx.ping[self.id] = self._nonce()

    def _nonce(self) -> str:
        self.awaited = f"{self._run}{next(self._nonces)}"
        return self.awaited

    # -- applying changes ---------------------------------------------------------------

    def _apply(self, body: dict[str, Any], fx: Effects) -> None:
        self.seq = _int(body["seq"])
        self.reported = max(self.reported, self.seq)
        fx.sites.add(self.id)
        for c in body["changes"]:
            kind = c["type"]
            if kind == "incident":
                fx.frame(self.id, self._incident(c, fx))
                continue
            if kind == "zone":
                zone = self._zones.get(c["id"])
                if zone is not None:
                    zone["state"], zone["degraded"] = c["state"], c["degraded"]
            elif kind == "watch":
                zone = self._zones.get(c["id"])
                if zone is not None:
                    zone["watch"], zone["intel"] = c["watch"], list(c.get("items", ()))
            elif kind == "fault":
                self._fault(c["change"], c["fault"])
            elif kind == "device":
                device = self._devices.get(c["id"])
                if device is not None:
                    device.update({k: c[k] for k in ("on", "in_alarm") if k in c})
            elif kind == "intel":
                self.intel[str(c["item"]["id"])] = c["item"]
            fx.pictures.add(self.id)
            fx.frame(self.id, {**c, "site": self.id})

    def _incident(self, c: dict[str, Any], fx: Effects) -> dict[str, Any]:
        """The incident as the site's ``GET /api/incidents`` lists it: the change's view,
        and what the site's store adds from its audit history (first acknowledgement,
        outcome, disruption, closing time), derived from the changes as the store does."""
        view = c["incident"]
        known = self.incidents.get(view["id"]) or dict(STORED_ONLY)
        merged = {**known, **view, "site": self.id}
        if c["change"] == "acknowledged" and merged.get("acknowledged_t") is None:
            merged["acknowledged_t"] = c["t"]
        elif c["change"] == "resolved":
            merged["outcome"] = c.get("outcome")
            merged["disruption"] = c.get("disruption")
            merged["closed_t"] = c["t"]
        self.incidents[str(view["id"])] = merged
        fx.touched(self.id, str(view["id"]))
        out = {**c, "site": self.id, "incident": merged}
        if "event" in c:
            out["event"] = {**c["event"], "site": self.id}
        return out

    def _fault(self, change: str, fault: dict[str, Any]) -> None:
        faults = [f for f in self.picture.get("faults", []) if f["number"] != fault["number"]]
        if change == "raised":
            faults.append(fault)
        self.picture["faults"] = faults
        device = self._devices.get(fault["sensor"])
        if device is not None:
            mine = [str(f["fault"]) for f in faults if f["sensor"] == fault["sensor"]]
            device["faults"] = mine
            device["health"] = "faulty" if mine else "ok"

    def _index(self) -> None:
        self._zones = {z["id"]: z for z in self.picture.get("zones", [])}
        self._devices = {
            d["id"]: d for d in [*self.picture.get("sensors", []), *self.picture.get("cameras", [])]
        }

    # -- the link ---------------------------------------------------------------------------

    @property
    def whole(self) -> bool:
        """The copy is what the site shows, as of the last word heard from it."""
        return self.synced and self.asked is None and self.seq >= self.reported

    def _update_link(self, now: float, fx: Effects) -> None:
        ready = self._heard_within(now) and not self.offline and self.whole
        if ready and not self.confirmed and self.asked is None:
            self._ping(now, fx)
        link = Link.UP if ready and self.confirmed else Link.LOST
        if link is self.link:
            return
        self.link = link
        self.lost_since = now if link is Link.LOST else None
        self.confirmed = link is Link.UP
        self.pinged = None
        fx.sites.add(self.id)
        fx.frame(self.id, {"type": "link", **self.link_state()})

    def link_state(self) -> dict[str, Any]:
        return {
            "site": self.id,
            "link": str(self.link),
            "as_of": self.heard,
            "lost_since": self.lost_since,
            "whole": self.whole,
        }

    def stored_picture(self) -> dict[str, Any]:
        """The picture as the centre's store keeps it (with the intelligence items)."""
        return {**self.picture, "intel": list(self.intel.values())}

    # -- views --------------------------------------------------------------------------------

    def unresolved(self) -> list[dict[str, Any]]:
        """Incidents not resolved, in the order they opened (the site's picture order)."""
        live = [i for i in self.incidents.values() if i.get("state") != "resolved"]
        return sorted(live, key=lambda i: (i.get("opened_t", 0), i["id"]))

    def visible(self, desk: str) -> Visible:
        """Which of this site's intelligence items (by id) ``desk`` may see."""

        def visible(item_id: str) -> bool:
            item = self.intel.get(item_id)
            return item is not None and item_visible(item, desk)

        return visible

    def view(self, desk: str) -> dict[str, Any]:
        """This site as a centre page shows it to ``desk``: the site's picture, its
        unresolved incidents (with ``site``), the link; of the intelligence, only what
        the desk may see (docs/protocol.md §9), filtered as a site filters it."""
        live = self.unresolved()
        zones = [
            {**z, "incidents": [i["id"] for i in live if z["id"] in i.get("zones", ())]}
            for z in self.picture.get("zones", [])
        ]
        about = self.picture.get("site") if isinstance(self.picture.get("site"), dict) else {}
        whole = {
            **{k: v for k, v in self.picture.items() if k not in ("site", "zones", "intel")},
            **self.link_state(),
            "name": self.name,
            "timezone": (about or {}).get("timezone", self.site.timezone),
            "seq": self.seq,
            "zones": zones,
            "incidents": live,
            "intel": list(self.intel.values()),
        }
        return picture_for(whole, desk, self.visible(desk))

    def for_desk(self, changes: list[dict[str, Any]], desk: str) -> list[dict[str, Any]]:
        """A frame's changes of this site as ``desk`` may see them."""
        return changes_for(changes, desk, self.visible(desk))


def initial_picture(site: Site) -> dict[str, Any]:
    """What a centre shows of a site it has never heard from: the plan, states unknown."""
    return {
        "t": None,
        "site": {"id": site.site, "name": site.name, "timezone": site.timezone},
        "zones": [
            {
                "id": z.id,
                "name": z.name,
                "polygon": z.polygon,
                "criticality": z.criticality,
                "state": UNKNOWN,
                "degraded": False,
            }
            for z in site.zones
        ],
        "sensors": [
            {
                "id": s.id,
                "kind": str(s.kind),
                "zone": s.zone,
                "name": s.name,
                "position": s.position,
                "health": UNKNOWN,
                "faults": [],
            }
            for s in site.sensors
        ],
        "cameras": [
            {
                "id": c.id,
                "name": c.name,
                "zones": sorted(c.zones),
                "position": c.position,
                "health": UNKNOWN,
                "faults": [],
            }
            for c in site.cameras
        ],
        "faults": [],
    }


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadMessage(f"seq {value!r} is not an integer")
    return value
