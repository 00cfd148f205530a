"""The centre file (docs/protocol.md §10, docs/centre.md): which sites a joint centre is
fed, where their site files are, and its desks; and the check that every user of the
centre sits at one of those desks.

Everything is checked once at start; a problem is reported with the file, the entry
(``desks[1].sites[0]``) and the reason, and nothing starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dashboard.auth import User
from fusion.site import Site, SiteError
from vigie.site_file import load_site, read_yaml


class CentreError(ValueError):
    """A centre file (or its users file) that cannot be used; ``problems`` are
    ``(entry, reason)`` pairs of ``source``."""

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        entry, reason = self.problems[0]
        more = f" (and {len(self.problems) - 1} more problem(s))" if len(self.problems) > 1 else ""
        super().__init__(f"{source}: {entry}: {reason}{more}" if entry else f"{source}: {reason}")

    def details(self) -> str:
        """Every problem, one line each, for a terminal."""
        return "\n".join(
            f"{self.source}: {entry}: {reason}" if entry else f"{self.source}: {reason}"
            for entry, reason in self.problems
        )


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteEntry(_Model):
    """A site the centre is fed: its id, a name for the page, its site file."""

    site: str = Field(pattern=r"^[a-z0-9-]+$", description="The site's id (its site file's).")
    name: str = Field(default="", description="Shown on the page; default the site file's.")
    site_file: str = Field(
        min_length=1, description="Path of the site file, relative to the centre file."
    )


class DeskEntry(_Model):
    """An agency's desk: the sites it sees, and whether it acknowledges and resolves."""

    id: str = Field(pattern=r"^[^\s/]+$", description="Named by each user's ``desk``.")
    name: str = ""
    sites: list[str] = Field(min_length=1, description="Ids of the sites the desk sees.")
    acts: bool = Field(
        default=False,
        description="May acknowledge and resolve (with a role that may act); a desk that "
        "only watches is the safe default.",
    )


class CentreFile(_Model):
    centre: str = Field(pattern=r"^[a-z0-9-]+$", description="The centre's id.")
    name: str = ""
    sites: list[SiteEntry] = Field(min_length=1)
    desks: list[DeskEntry] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class CentreSite:
    id: str
    name: str
    site: Site
    path: Path


@dataclass(frozen=True, slots=True)
class Desk:
    id: str
    name: str
    sites: tuple[str, ...]
    acts: bool

    def sees(self, site: str) -> bool:
        return site in self.sites


@dataclass(frozen=True, slots=True)
class Centre:
    """A validated centre file, its site files loaded."""

    id: str
    name: str
    sites: dict[str, CentreSite]
    desks: dict[str, Desk]
    path: Path


def load_centre(path: str | Path) -> Centre:
    """Read and check a centre file and every site file it names."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = read_yaml(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise CentreError(source, [("", f"cannot read the centre file: {exc}")]) from exc
    except yaml.YAMLError as exc:
        raise CentreError(source, [("", f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise CentreError(source, [("", "the centre file must be a mapping (centre:, sites:, …)")])
    try:
        parsed = CentreFile.model_validate(data)
    except ValidationError as exc:
        raise CentreError(source, _problems(exc)) from exc
    return _checked(parsed, Path(path), source)


def _checked(parsed: CentreFile, path: Path, source: str) -> Centre:
    problems: list[tuple[str, str]] = []
    sites: dict[str, CentreSite] = {}
    for i, entry in enumerate(parsed.sites):
        where = f"sites[{i}]"
        if entry.site in sites:
            problems.append((f"{where}.site", f"site {entry.site!r} is listed twice"))
            continue
        site_path = _site_path(path, entry.site_file)
        try:
            site = load_site(site_path)
        except SiteError as exc:
            problems.append((f"{where}.site_file", f"bad site file: {exc}"))
            continue
        if site.site != entry.site:
            problems.append(
                (f"{where}.site", f"{site_path} is the site file of {site.site!r}, not this site")
            )
            continue
        sites[entry.site] = CentreSite(entry.site, entry.name or site.name, site, site_path)
    listed = [s.site for s in parsed.sites]
    desks: dict[str, Desk] = {}
    for i, d in enumerate(parsed.desks):
        if d.id in desks:
            problems.append((f"desks[{i}].id", f"desk {d.id!r} is listed twice"))
        for j, site_id in enumerate(d.sites):
            if site_id not in listed:
                problems.append(
                    (
                        f"desks[{i}].sites[{j}]",
                        f"no site {site_id!r} among the centre's sites ({', '.join(listed)})",
                    )
                )
        desks[d.id] = Desk(d.id, d.name or d.id, tuple(dict.fromkeys(d.sites)), d.acts)
    if problems:
        raise CentreError(source, problems)
    return Centre(parsed.centre, parsed.name or parsed.centre, sites, desks, path)


def _site_path(centre_file: Path, site_file: str) -> Path:
    """Relative to the centre file; or, when no such file is there, to the working
    folder (a path written from where the command is run)."""
    beside = (centre_file.parent / site_file).resolve()
    here = Path(site_file).resolve()
    return here if not beside.exists() and here.exists() else beside


def check_users(users: Iterable[User], centre: Centre, source: str) -> None:
    """Every user of a centre sits at one of its desks (docs/protocol.md §10)."""
    problems = []
    for i, user in enumerate(users):
        where = f"users[{i}] ({user.name})"
        if user.desk is None:
            problems.append((where, "no desk: at a centre every user sits at one of its desks"))
        elif user.desk not in centre.desks:
            known = ", ".join(centre.desks)
            problems.append((where, f"desk {user.desk!r} is not a desk of {centre.path} ({known})"))
    if problems:
        raise CentreError(source, problems)


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for err in exc.errors(include_url=False):
        entry = ""
        for part in err["loc"]:
            entry += f"[{part}]" if isinstance(part, int) else (f".{part}" if entry else str(part))
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling against docs/centre.md)"
        problems.append((entry, msg))
    return problems
