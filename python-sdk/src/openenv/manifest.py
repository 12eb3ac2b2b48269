"""`openenv.yaml` manifests: load and validate against `schemas/Manifest.schema.json` (the generated
`Manifest` model), and derive server settings from them (`create_app(..., manifest=...)`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import yaml

from openenv.errors import LocalError


class ManifestError(LocalError):
    """The manifest is missing, unreadable or invalid; the message names the file, the line and the field."""


def load_manifest(path: Path) -> Any:
    """Parse and validate a manifest; returns the generated `Manifest` model."""
    from openenv import _generated as generated

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ManifestError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: the manifest must be a mapping of keys to values")
    known = set(generated.Manifest.model_fields)
    for key in data:
        if not (isinstance(key, str) and (key in known or key.startswith("x-"))):
            raise ManifestError(
                f"{path}{_line(text, (key,))}: {key}: unknown top-level key (custom keys must start with 'x-'; "
                f"known: {', '.join(sorted(known))})"
            )
    try:
        return generated.Manifest.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ManifestError(f"{path}{_line(text, tuple(first['loc']))}: {field}: {first['msg']}{more}") from None


def _line(text: str, loc: tuple[Any, ...]) -> str:
    """`:LINE` (1-based) of the deepest part of `loc` found in the YAML text — a key's own line for
    mapping members — or `""` when not even the first part is there."""
    try:
        node: Any = yaml.compose(text)
    except yaml.YAMLError:
        return ""
    line: int | None = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return f":{line + 1}" if line is not None else ""
