"""The workflow's configuration, read from one schema (``config.schema.yaml`` beside this file).

The schema is the single place for every key's default and description: Snakemake validates
``config.yaml`` against it, the reproduction's dataclasses take their defaults from it
(:func:`default`), and :func:`parse` is the one strict way from a config section to a
dataclass (an unknown key is an error that names it and the allowed keys).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")
T = TypeVar("T")


@functools.cache
def schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def section_schema(section: str) -> dict[str, Any]:
    """The schema of a dotted section: ``"posenet"``, ``"train"``, ``"train.archs.*"`` (one arch's entry)."""
    node = schema()
    for part in section.split("."):
        node = node["additionalProperties"] if part == "*" else node["properties"][part]
    return node


def allowed_keys(section: str) -> list[str]:
    return list(section_schema(section).get("properties", {}))


def default(section: str, key: str) -> Any:
    """The schema's default of ``section.key`` (a KeyError names a key that has none)."""
    prop = section_schema(section)["properties"][key]
    if "default" not in prop:
        raise KeyError(f"{section}.{key} has no default in {SCHEMA_PATH.name}")
    return prop["default"]


def defaults(section: str) -> dict[str, Any]:
    return {k: p["default"] for k, p in section_schema(section).get("properties", {}).items() if "default" in p}


def check_keys(mapping: Mapping[str, Any], section: str) -> None:
    unknown = sorted(set(mapping) - set(allowed_keys(section)))
    if unknown:
        raise ValueError(f"{section}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed_keys(section))}")


def with_defaults(mapping: Mapping[str, Any] | None, section: str) -> dict[str, Any]:
    """``mapping`` checked strictly, with the schema's defaults for the keys it leaves out."""
    mapping = dict(mapping or {})
    check_keys(mapping, section)
    return {**defaults(section), **mapping}


def parse(cls: type[T], mapping: Mapping[str, Any] | None, section: str, **job: Any) -> T:
    """The dataclass ``cls`` from config ``section`` (strict, defaults from the schema) plus
    per-job values ``job`` (e.g. wildcards). Schema keys that are not fields of ``cls`` (the
    grid lists of a section) configure the workflow, not the job, and are left out."""
    values = with_defaults(mapping, section)
    fields = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in fields}, **job)
