"""Loading the site file from disk: YAML text to a validated :class:`fusion.site.Site`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fusion.site import Site, SiteError, site_from_mapping


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (a silent overwrite
    in a site file has hidden a mistyped zone before)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} appears twice (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def parse_site_text(text: str, source: str) -> Site:
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SiteError(source, [(where, f"not valid YAML: {problem}")]) from exc
    return site_from_mapping(data, source)


def load_site(path: str | Path) -> Site:
    """Read and validate a site file; :class:`SiteError` names the file and the entry."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteError(source, [("", f"cannot read the site file: {exc}")]) from exc
    return parse_site_text(text, source)


def read_yaml(text: str) -> Any:
    """Safe YAML that refuses a key given twice, for Vigie's other files (the joint
    centre's file, docs/centre.md); :class:`yaml.YAMLError` when it is not YAML."""
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
