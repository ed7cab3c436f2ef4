#!/usr/bin/env python3
"""Validate CommonGrants opportunities read on standard input.

Reads a JSON array (or JSON Lines) of CommonGrants ``OpportunityBase`` objects, as written by
``guichet export --format commongrants``, and validates every one with the ``common-grants-sdk``
package's own Pydantic model (``common_grants_sdk.schemas.pydantic.OpportunityBase``).

On top of the model, it checks what the model's lax parsing would let through but a wire
document should not carry:

* keys are the protocol's camelCase wire names (the model also accepts snake_case field names)
  and none is unknown (``OpportunityBase`` silently ignores unknown top-level keys);
* dates are ``YYYY-MM-DD`` strings, timestamps RFC 3339 strings with an offset, times
  ``HH:MM:SS``, ids strings, numbers real JSON numbers (no coercion from strings or booleans);
* every event carries its ``eventType``; every custom field's ``value`` has the JSON type its
  ``fieldType`` names;
* opportunity ids are unique.

Prints how many objects validated and, for each failure, the object's id and the errors.
Exits 1 on any failure, when the input holds no object, or when it is not JSON at all.

Usage: guichet export --format commongrants | python tests/commongrants/validate.py
"""

from __future__ import annotations

import datetime as dt
import enum
import importlib.metadata
import json
import re
import sys
import uuid
from collections import Counter
from typing import Any

try:
    from common_grants_sdk.schemas.pydantic import OpportunityBase
    from common_grants_sdk.schemas.pydantic.fields import CustomField, EventBase
    from pydantic import BaseModel, ValidationError
except ImportError as err:  # pragma: no cover - environment problem, not a validation result
    sys.exit(
        f"validate.py: cannot import the CommonGrants SDK ({err}); "
        "install scripts/test-requirements.txt (scripts/test does it in target/test-tools/venv)"
    )

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
TIME_RE = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d+)?$")

# JSON type that a custom field's `value` must have, by `fieldType`.
CUSTOM_FIELD_TYPES = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def read_objects(text: str) -> list[Any]:
    """Parse standard input as one JSON document (array or object), else as JSON Lines."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None
        items = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as err:
                sys.exit(f"validate.py: input is neither a JSON array nor JSON Lines (line {lineno}: {err})")
        return items
    if isinstance(doc, list):
        return doc
    return [doc]


def wire_key(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    if isinstance(field.validation_alias, str):
        return field.validation_alias
    return field.alias or name


def json_kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, (int, float)) else type(value).__name__
    )


def check_wire(parsed: Any, raw: Any, path: str, errors: list[str]) -> None:
    """Walk the validated value beside the raw JSON and report what only lax parsing accepted."""
    where = path or "(root)"
    if isinstance(parsed, BaseModel):
        if not isinstance(raw, dict):
            return
        model = type(parsed)
        by_wire = {wire_key(model, name): name for name in model.model_fields}
        by_name = {name: wire_key(model, name) for name in model.model_fields}
        extra_allowed = model.model_config.get("extra") == "allow"
        for key, raw_value in raw.items():
            child = f"{path}.{key}" if path else key
            if key in by_wire:
                name = by_wire[key]
                if raw_value is not None:
                    check_wire(getattr(parsed, name), raw_value, child, errors)
            elif key in by_name and by_name[key] != key:
                errors.append(f"{child}: use the wire name '{by_name[key]}', not the field name '{key}'")
            elif not extra_allowed:
                errors.append(f"{child}: unknown key (the protocol has no such field here)")
        if isinstance(parsed, EventBase) and "eventType" not in raw:
            errors.append(f"{where}: missing 'eventType'")
        if isinstance(parsed, CustomField) and isinstance(raw.get("fieldType"), str):
            expected = CUSTOM_FIELD_TYPES.get(raw["fieldType"])
            value = raw.get("value")
            if expected and value is not None:
                ok = isinstance(value, expected) and not (bool not in expected and isinstance(value, bool))
                if not ok:
                    errors.append(
                        f"{where}.value: fieldType is '{raw['fieldType']}' but the value is a JSON {json_kind(value)}"
                    )
        return
    if isinstance(parsed, dict) and isinstance(raw, dict):
        for key, value in parsed.items():
            if key in raw and raw[key] is not None:
                check_wire(value, raw[key], f"{path}.{key}", errors)
        return
    if isinstance(parsed, list) and isinstance(raw, list):
        for index, (value, raw_value) in enumerate(zip(parsed, raw)):
            check_wire(value, raw_value, f"{path}[{index}]", errors)
        return
    # Scalars: the raw JSON must already have the type the model ended up with.
    if isinstance(parsed, dt.datetime):
        if not (isinstance(raw, str) and DATETIME_RE.match(raw)):
            errors.append(f"{where}: expected an RFC 3339 timestamp with offset such as '2026-01-05T09:30:00Z', got {raw!r}")
    elif isinstance(parsed, dt.date):
        if not (isinstance(raw, str) and DATE_RE.match(raw)):
            errors.append(f"{where}: expected a date 'YYYY-MM-DD', got {raw!r}")
    elif isinstance(parsed, dt.time):
        if not (isinstance(raw, str) and TIME_RE.match(raw)):
            errors.append(f"{where}: expected a time 'HH:MM:SS', got {raw!r}")
    elif isinstance(parsed, (uuid.UUID, enum.Enum, str)):
        if not isinstance(raw, str):
            errors.append(f"{where}: expected a JSON string, got a JSON {json_kind(raw)} ({raw!r})")
    elif isinstance(parsed, bool):
        if not isinstance(raw, bool):
            errors.append(f"{where}: expected a JSON boolean, got {raw!r}")
    elif isinstance(parsed, (int, float)):
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            errors.append(f"{where}: expected a JSON number, got {raw!r}")


def format_validation_error(err: ValidationError) -> list[str]:
    lines = []
    for item in err.errors(include_url=False):
        loc = ".".join(str(part) for part in item["loc"]) or "(root)"
        if item["type"] == "missing":
            lines.append(f"{loc}: {item['msg']}")
            continue
        shown = repr(item.get("input"))
        if len(shown) > 120:
            shown = shown[:117] + "..."
        lines.append(f"{loc}: {item['msg']} (got {shown})")
    return lines


def describe(index: int, raw: Any) -> str:
    if isinstance(raw, dict):
        label = f"id={raw.get('id')!s}"
        if isinstance(raw.get("title"), str):
            label += f" title={raw['title'][:60]!r}"
        return f"#{index} {label}"
    return f"#{index}"


def main() -> int:
    objects = read_objects(sys.stdin.read())
    if not objects:
        print("commongrants: FAIL: the input holds no opportunity (an empty export proves nothing)")
        return 1

    failures: dict[int, list[str]] = {}
    for index, raw in enumerate(objects):
        if not isinstance(raw, dict):
            failures[index] = [f"expected a JSON object, got a JSON {json_kind(raw)}"]
            continue
        try:
            parsed = OpportunityBase.model_validate(raw)
        except ValidationError as err:
            failures[index] = format_validation_error(err)
            continue
        errors: list[str] = []
        check_wire(parsed, raw, "", errors)
        if errors:
            failures[index] = errors

    ids = Counter(
        str(raw["id"]).lower() for raw in objects if isinstance(raw, dict) and isinstance(raw.get("id"), str)
    )
    for index, raw in enumerate(objects):
        if isinstance(raw, dict) and isinstance(raw.get("id"), str) and ids[raw["id"].lower()] > 1:
            failures.setdefault(index, []).append(f"id: {raw['id']} is used by {ids[raw['id'].lower()]} opportunities")

    for index in sorted(failures):
        print(f"FAIL {describe(index, objects[index])}")
        for line in failures[index]:
            print(f"    {line}")
    valid = len(objects) - len(failures)
    sdk = importlib.metadata.version("common-grants-sdk")
    print(f"commongrants: {valid} of {len(objects)} opportunities validated against "
          f"common-grants-sdk {sdk} OpportunityBase, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
