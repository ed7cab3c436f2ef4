"""Schemathesis hooks for fuzzing Guichet's /graphql (loaded by tests/schemathesis/run through
SCHEMATHESIS_HOOKS).

- A strategy for the `Upload` scalar, which schemathesis cannot generate by itself: strings, among
  them the placeholders async-graphql puts in a multipart request's variables
  (`#__graphql_file__:N`), sent here over plain JSON with no file.
- Guichet's error codes (`extensions.code`, gateway/src/graphql/error.rs) taught to schemathesis'
  GraphQL checks: VALIDATION, NOT_FOUND, UNAUTHENTICATED, FORBIDDEN, CONFLICT and RATE_LIMITED are
  refusals of what the client sent; INTERNAL is a failure of the server. Without this, every error
  that names a field (`path`) counts as a server error for `not_a_server_error`.
- One check of our own, `guichet_graphql_response`: the answer is a GraphQL response (JSON object
  of `data`, `errors`, `extensions`), every error has a message and a known code, and `data`
  matches the query it answers against the schema — every selected key and no other, no null
  where the schema says non-null, lists, objects, enums and scalars (Int in 32 bits, ID as a
  string, Date as YYYY-MM-DD, DateTime as RFC 3339) of the declared kind.
- A count of the HTTP requests made (and of the statuses and error codes seen), written as JSON
  to $GUICHET_FUZZ_STATS when the run ends.
"""

from __future__ import annotations

import atexit
import collections
import datetime
import json
import os
import re
import threading

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

# Internal module of schemathesis (the version is pinned in scripts/test-requirements.txt).
from schemathesis.specs.graphql import validation as st_validation

# -------------------------------------------------------------------------------------------------
# The Upload scalar
# -------------------------------------------------------------------------------------------------

UPLOAD_PLACEHOLDER = "#__graphql_file__:"

schemathesis.graphql.scalar(
    "Upload",
    st.one_of(
        st.sampled_from(
            [
                UPLOAD_PLACEHOLDER + "0",
                UPLOAD_PLACEHOLDER + "1",
                UPLOAD_PLACEHOLDER + "x",
                UPLOAD_PLACEHOLDER,
                UPLOAD_PLACEHOLDER + "18446744073709551616",
            ]
        ),
        st.text(max_size=24),
    ).map(nodes.String),
)

# -------------------------------------------------------------------------------------------------
# Guichet's error codes
# -------------------------------------------------------------------------------------------------

CLIENT_CODES = frozenset(
    {"VALIDATION", "NOT_FOUND", "UNAUTHENTICATED", "FORBIDDEN", "CONFLICT", "RATE_LIMITED"}
)
SERVER_CODES = frozenset({"INTERNAL"})
KNOWN_CODES = CLIENT_CODES | SERVER_CODES

st_validation.CLIENT_ERROR_MARKERS = st_validation.CLIENT_ERROR_MARKERS | CLIENT_CODES
st_validation.SERVER_ERROR_MARKERS = st_validation.SERVER_ERROR_MARKERS | SERVER_CODES

# -------------------------------------------------------------------------------------------------
# Counting requests
# -------------------------------------------------------------------------------------------------

_LOCK = threading.Lock()
_STATS = {
    "requests": 0,
    "network_errors": 0,
    "statuses": collections.Counter(),
    "error_codes": collections.Counter(),
    "operations": collections.Counter(),
}


def _error_codes(response) -> list[str]:
    try:
        payload = json.loads(response.content)
    except ValueError:
        return ["(not JSON)"]
    if not isinstance(payload, dict) or not isinstance(payload.get("errors"), list):
        return []
    codes = []
    for error in payload["errors"]:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        codes.append(code if isinstance(code, str) else "(none)")
    return codes


@schemathesis.hook
def after_call(context, case, response) -> None:
    codes = _error_codes(response)
    with _LOCK:
        _STATS["requests"] += 1
        _STATS["statuses"][str(response.status_code)] += 1
        _STATS["operations"][case.operation.label] += 1
        for code in codes:
            _STATS["error_codes"][code] += 1


@schemathesis.hook
def after_network_error(context, case, request) -> None:
    with _LOCK:
        _STATS["requests"] += 1
        _STATS["network_errors"] += 1


@atexit.register
def _write_stats() -> None:
    path = os.environ.get("GUICHET_FUZZ_STATS")
    if not path:
        return
    with _LOCK:
        stats = dict(_STATS)
        stats["operations_tested"] = len(stats.pop("operations"))
    with open(path, "w", encoding="utf-8") as file:
        json.dump(stats, file, indent=2, sort_keys=True)


# -------------------------------------------------------------------------------------------------
# The response against the schema
# -------------------------------------------------------------------------------------------------

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
DATE_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
RESPONSE_KEYS = {"data", "errors", "extensions"}


def _scalar_problem(value, type_: graphql.GraphQLScalarType) -> str | None:
    name = type_.name
    if name == "Int":
        ok = isinstance(value, int) and not isinstance(value, bool) and INT_MIN <= value <= INT_MAX
    elif name == "Float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif name == "Boolean":
        ok = isinstance(value, bool)
    elif name in ("String", "ID"):
        ok = isinstance(value, str)
    elif name == "Date":
        ok = isinstance(value, str) and bool(DATE_RE.match(value))
        if ok:
            try:
                datetime.date.fromisoformat(value)
            except ValueError:
                ok = False
    elif name == "DateTime":
        ok = isinstance(value, str)
        if ok:
            try:
                ok = datetime.datetime.fromisoformat(value).tzinfo is not None
            except ValueError:
                ok = False
    else:
        ok = True
    return None if ok else f"{json.dumps(value)[:80]} is not a valid {name}"


class _Walker:
    def __init__(self, schema: graphql.GraphQLSchema, document: graphql.DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, graphql.FragmentDefinitionNode)
        }
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(f"{path or '<data>'}: {message}")

    def applies(self, condition: graphql.GraphQLNamedType, runtime: graphql.GraphQLObjectType) -> bool:
        if condition is runtime:
            return True
        return graphql.is_abstract_type(condition) and self.schema.is_sub_type(condition, runtime)

    def collect(self, parent, runtime, selection_sets, fields, optional=False) -> None:
        """Fields selected on `parent` (the runtime object type when known), by response key:
        key -> [field type, sub-selections, optional]."""
        for selection_set in selection_sets:
            if selection_set is None:
                continue
            for selection in selection_set.selections:
                conditional = optional or any(
                    d.name.value in ("skip", "include") for d in (selection.directives or ())
                )
                if isinstance(selection, graphql.FieldNode):
                    name = selection.name.value
                    key = selection.alias.value if selection.alias else name
                    if name == "__typename":
                        field_type = graphql.GraphQLNonNull(graphql.GraphQLString)
                    elif name in ("__schema", "__type"):
                        field_type = None  # introspection: not checked
                    else:
                        owner = runtime or parent
                        field = getattr(owner, "fields", {}).get(name)
                        if field is None:
                            self.problem(key, f"field `{name}` not on {owner.name}")
                            continue
                        field_type = field.type
                    entry = fields.setdefault(key, [field_type, [], True])
                    entry[1].append(selection.selection_set)
                    entry[2] = entry[2] and conditional
                else:
                    if isinstance(selection, graphql.FragmentSpreadNode):
                        fragment = self.fragments.get(selection.name.value)
                        if fragment is None:
                            continue
                        condition_node, sub = fragment.type_condition, fragment.selection_set
                    else:
                        condition_node, sub = selection.type_condition, selection.selection_set
                    condition = (
                        self.schema.get_type(condition_node.name.value) if condition_node else parent
                    )
                    if runtime is not None:
                        if condition is not None and not self.applies(condition, runtime):
                            continue
                        self.collect(parent, runtime, [sub], fields, conditional)
                    else:
                        # Runtime type unknown (no __typename): fields of a narrower fragment may
                        # be absent.
                        narrower = condition is not None and condition is not parent
                        self.collect(condition or parent, None, [sub], fields, conditional or narrower)

    def value(self, value, type_, selection_sets, path: str) -> None:
        if type_ is None:
            return
        if isinstance(type_, graphql.GraphQLNonNull):
            if value is None:
                self.problem(path, f"null where the schema says {type_} (non-null)")
                return
            type_ = type_.of_type
        if value is None:
            return
        if isinstance(type_, graphql.GraphQLList):
            if not isinstance(value, list):
                self.problem(path, f"{type(value).__name__} where the schema says a list")
                return
            for index, item in enumerate(value):
                self.value(item, type_.of_type, selection_sets, f"{path}[{index}]")
            return
        if isinstance(type_, graphql.GraphQLEnumType):
            if not isinstance(value, str) or value not in type_.values:
                self.problem(path, f"{json.dumps(value)[:80]} is not a value of enum {type_.name}")
            return
        if isinstance(type_, graphql.GraphQLScalarType):
            problem = _scalar_problem(value, type_)
            if problem:
                self.problem(path, problem)
            return
        self.object(value, type_, selection_sets, path)

    def object(self, value, type_, selection_sets, path: str) -> None:
        if not isinstance(value, dict):
            self.problem(path, f"{type(value).__name__} where the schema says object {type_.name}")
            return
        runtime = type_ if isinstance(type_, graphql.GraphQLObjectType) else None
        if runtime is None and isinstance(value.get("__typename"), str):
            candidate = self.schema.get_type(value["__typename"])
            if isinstance(candidate, graphql.GraphQLObjectType) and self.schema.is_sub_type(type_, candidate):
                runtime = candidate
            else:
                self.problem(path, f"__typename {value['__typename']!r} is not a {type_.name}")
                return
        fields: dict[str, list] = {}
        self.collect(type_, runtime, selection_sets, fields)
        for key in value:
            if key not in fields:
                self.problem(f"{path}.{key}" if path else key, "key not selected by the query")
        for key, (field_type, subs, optional) in fields.items():
            child = f"{path}.{key}" if path else key
            if key not in value:
                if not optional:
                    self.problem(child, "selected field missing")
                continue
            self.value(value[key], field_type, subs, child)


def _schema_problems(schema: graphql.GraphQLSchema, query: str, data) -> list[str]:
    try:
        document = graphql.parse(query)
    except graphql.GraphQLError:
        return []
    if graphql.validate(schema, document):
        return []  # not a valid query here: nothing to compare `data` with
    operations = [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    if len(operations) != 1:
        return []
    operation = operations[0]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return []
    walker = _Walker(schema, document)
    walker.object(data, root, [operation.selection_set], "")
    return walker.problems


@schemathesis.check
def guichet_graphql_response(ctx, response, case) -> bool | None:
    """A GraphQL response whose errors carry Guichet's codes and whose data matches the query."""
    if response.status_code >= 500:
        return None  # not_a_server_error reports it
    content_type = ",".join(response.headers.get("content-type", []))
    if not (
        content_type.startswith("application/json")
        or content_type.startswith("application/graphql-response+json")
    ):
        raise AssertionError(f"[{response.status_code}] Content-Type {content_type!r} is not JSON")
    try:
        payload = json.loads(response.content)
    except ValueError as error:
        raise AssertionError(f"[{response.status_code}] body is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise AssertionError("the response is not a JSON object")
    extra = set(payload) - RESPONSE_KEYS
    if extra:
        raise AssertionError(f"unexpected top-level keys {sorted(extra)}")
    problems = []
    errors = payload.get("errors")
    if "errors" in payload:
        if not isinstance(errors, list) or not errors:
            problems.append("`errors` is present but not a non-empty list")
            errors = []
        for index, error in enumerate(errors):
            if not isinstance(error, dict) or not isinstance(error.get("message"), str):
                problems.append(f"errors[{index}] has no message")
                continue
            extensions = error.get("extensions")
            code = extensions.get("code") if isinstance(extensions, dict) else None
            if code not in KNOWN_CODES:
                problems.append(f"errors[{index}] has code {code!r}, not one of Guichet's")
    if "data" in payload:
        data = payload["data"]
        if data is None:
            if not errors:
                problems.append("`data` is null without any error")
        elif response.status_code != 200:
            problems.append(f"`data` in a {response.status_code} response")
        elif isinstance(case.body, str):
            problems += _schema_problems(case.operation.schema.client_schema, case.body, data)
    elif not errors:
        problems.append("neither `data` nor `errors`")
    if problems:
        raise AssertionError("\n".join(problems))
    return None
