//! Keeps responses within the schema where async-graphql 7.2 does not (found by the
//! schemathesis fuzzing of `/graphql`, tests/schemathesis/).
//!
//! - **Null propagation.** Since async-graphql 7.1 an object whose field fails leaves the
//!   field's key out (and becomes `null` when every field failed), whatever the field's type:
//!   `{ funders { schemes(first: 1000) { total } } }` answered `"funders": [null, …]` under
//!   `[Funder!]!`. The GraphQL spec wants the failed field `null` and, when its type is
//!   non-null, the `null` carried up to the nearest nullable field (or `data`).
//!   [`propagate_nulls`] does that from each error's path, the query and the schema's types.
//! - **Forged upload references.** A multipart upload reaches a resolver as the variable value
//!   `#__graphql_file__:N`; async-graphql panics (the connection drops, no answer) on such a
//!   string that names no file of the request or is not a number, even sent over plain JSON.
//!   [`forged_upload`] finds them before execution.
//! - **Key order.** async-graphql resolves the fields of a query's object concurrently and
//!   writes each as it completes, so a field that waits (a DataLoader, the database) moved
//!   behind its siblings on one call and not the next. The spec orders a response's keys as
//!   the query selects them: [`order_keys`] puts them back in that order.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_graphql::parser::types::{
    BaseType, ExecutableDocument, Field, Selection, SelectionSet, Type, TypeKind,
    TypeSystemDefinition,
};
use async_graphql::{PathSegment, Value};

const UPLOAD_PLACEHOLDER: &str = "#__graphql_file__:";

/// True when the query text, or a variable, holds an upload reference that is not one of this
/// request's files.
pub fn forged_upload(request: &async_graphql::Request) -> bool {
    fn forged(value: &Value, uploads: usize) -> bool {
        match value {
            Value::String(s) => s
                .strip_prefix(UPLOAD_PLACEHOLDER)
                .is_some_and(|n| !n.parse::<usize>().is_ok_and(|n| n < uploads)),
            Value::List(items) => items.iter().any(|v| forged(v, uploads)),
            Value::Object(map) => map.values().any(|v| forged(v, uploads)),
            _ => false,
        }
    }
    request.query.contains(UPLOAD_PLACEHOLDER)
        || request
            .variables
            .values()
            .any(|v| forged(v, request.uploads.len()))
}

/// Field types by type name and field name, from the schema's SDL.
fn field_types() -> &'static HashMap<String, HashMap<String, Type>> {
    static TYPES: LazyLock<HashMap<String, HashMap<String, Type>>> = LazyLock::new(|| {
        let mut types = HashMap::new();
        let Ok(document) = async_graphql::parser::parse_schema(super::sdl()) else {
            return types;
        };
        for definition in document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let fields = match ty.node.kind {
                TypeKind::Object(object) => object.fields,
                TypeKind::Interface(interface) => interface.fields,
                _ => continue,
            };
            types.insert(
                ty.node.name.node.to_string(),
                fields
                    .into_iter()
                    .map(|f| (f.node.name.node.to_string(), f.node.ty.node))
                    .collect(),
            );
        }
        types
    });
    &TYPES
}

/// The fields of `sets` (with their fragments) answering under `key`, with the type each is
/// selected on.
fn fields_by_key<'a>(
    document: &'a ExecutableDocument,
    sets: &[(&'a SelectionSet, &'a str)],
    key: &str,
    found: &mut Vec<(&'a Field, &'a str)>,
) {
    for &(set, on) in sets {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    if field.node.response_key().node.as_str() == key {
                        found.push((&field.node, on));
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let on = fragment
                        .node
                        .type_condition
                        .as_ref()
                        .map_or(on, |c| c.node.on.node.as_str());
                    fields_by_key(
                        document,
                        &[(&fragment.node.selection_set.node, on)],
                        key,
                        found,
                    );
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node)
                    {
                        let on = fragment.node.type_condition.node.on.node.as_str();
                        fields_by_key(
                            document,
                            &[(&fragment.node.selection_set.node, on)],
                            key,
                            found,
                        );
                    }
                }
            }
        }
    }
}

/// Whether each position of `path` may be null (one entry per segment), as far as the query
/// and the schema tell; shorter than `path` when they do not.
fn nullability<'a>(
    document: &'a ExecutableDocument,
    root: (&'a SelectionSet, &'a str),
    path: &[PathSegment],
) -> Vec<bool> {
    let types = field_types();
    let mut out = Vec::with_capacity(path.len());
    let mut sets: Vec<(&'a SelectionSet, &'a str)> = vec![root];
    let mut current: Option<&'static Type> = None;
    for segment in path {
        match segment {
            PathSegment::Field(key) => {
                let mut found = Vec::new();
                fields_by_key(document, &sets, key, &mut found);
                let Some(&(field, on)) = found.first() else {
                    return out;
                };
                let Some(ty) = types
                    .get(on)
                    .and_then(|fields| fields.get(field.name.node.as_str()))
                else {
                    return out;
                };
                out.push(ty.nullable);
                current = Some(ty);
                let mut named = ty;
                while let BaseType::List(inner) = &named.base {
                    named = &**inner;
                }
                let BaseType::Named(name) = &named.base else {
                    return out;
                };
                sets = found
                    .iter()
                    .map(|(f, _)| (&f.selection_set.node, name.as_str()))
                    .collect();
            }
            PathSegment::Index(_) => {
                let Some(Type {
                    base: BaseType::List(inner),
                    ..
                }) = current
                else {
                    return out;
                };
                out.push(inner.nullable);
                current = Some(&**inner);
            }
        }
    }
    out
}

/// Where a failure at `path` leaves a `null`: the path itself when it may be null, else the
/// nearest position above that may (`[]` for `data`). None when the types are not known.
fn null_position<'a, 'p>(
    document: &'a ExecutableDocument,
    root: (&'a SelectionSet, &'a str),
    path: &'p [PathSegment],
) -> Option<&'p [PathSegment]> {
    let nullable = nullability(document, root, path);
    if nullable.len() != path.len() {
        return None;
    }
    let depth = nullable.iter().rposition(|&n| n).map_or(0, |i| i + 1);
    Some(&path[..depth])
}

/// Sets `data` at `position` to null. An object async-graphql left `null` because every one of
/// its fields failed becomes an object again first, unless a null put there here says otherwise.
fn set_null(data: &mut Value, position: &[PathSegment], nulled: &[Vec<PathSegment>]) {
    let Some((last, parents)) = position.split_last() else {
        *data = Value::Null;
        return;
    };
    let mut value = data;
    for segment in parents {
        value = match (segment, value) {
            (PathSegment::Field(key), Value::Object(map)) => match map.get_mut(key.as_str()) {
                Some(v) => v,
                None => return,
            },
            (PathSegment::Index(i), Value::List(items)) => match items.get_mut(*i) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    match last {
        PathSegment::Field(key) => {
            if matches!(value, Value::Null) && !nulled.iter().any(|n| n.as_slice() == parents) {
                *value = Value::Object(Default::default());
            }
            if let Value::Object(map) = value {
                map.insert(async_graphql::Name::new(key), Value::Null);
            }
        }
        PathSegment::Index(i) => {
            if let Value::List(items) = value
                && let Some(item) = items.get_mut(*i)
            {
                *item = Value::Null;
            }
        }
    }
}

/// Brings an executed response within the spec: each failed field's null where the spec puts
/// it (see the module's doc), and every object's keys in the order of the query.
pub fn settle(query: &str, operation_name: Option<&str>, response: &mut async_graphql::Response) {
    if matches!(response.data, Value::Null) {
        return;
    }
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return;
    };
    let Some((_, operation)) = super::selected_operation(&document, operation_name) else {
        return;
    };
    let root_type = match operation.node.ty {
        async_graphql::parser::types::OperationType::Query => "Query",
        async_graphql::parser::types::OperationType::Mutation => "Mutation",
        async_graphql::parser::types::OperationType::Subscription => return,
    };
    let root = (&operation.node.selection_set.node, root_type);
    propagate_nulls(&document, root, response);
    order_keys(&document, &[root.0], &mut response.data);
}

/// Puts the nulls the spec requires for the response's field errors (see the module's doc).
fn propagate_nulls<'a>(
    document: &'a ExecutableDocument,
    root: (&'a SelectionSet, &'a str),
    response: &mut async_graphql::Response,
) {
    let mut positions: Vec<Vec<PathSegment>> = response
        .errors
        .iter()
        .filter(|e| !e.path.is_empty())
        .filter_map(|e| null_position(document, root, &e.path).map(<[_]>::to_vec))
        .collect();
    // Shallower first: a null above makes those below moot.
    positions.sort_by_key(Vec::len);
    positions.dedup();
    let mut nulled: Vec<Vec<PathSegment>> = Vec::new();
    for position in positions {
        if nulled
            .iter()
            .any(|n| n.len() < position.len() && position.starts_with(n))
        {
            continue;
        }
        set_null(&mut response.data, &position, &nulled);
        nulled.push(position);
    }
}

/// The response keys `sets` select, in the order they first appear (fragments expanded once
/// each), each with the selection sets of the fields answering under it.
fn keys_in_order<'a>(
    document: &'a ExecutableDocument,
    sets: &[&'a SelectionSet],
    keys: &mut Vec<(&'a str, Vec<&'a SelectionSet>)>,
    followed: &mut Vec<&'a str>,
) {
    for set in sets {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let key = field.node.response_key().node.as_str();
                    let below = &field.node.selection_set.node;
                    match keys.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, found)) => found.push(below),
                        None => keys.push((key, vec![below])),
                    }
                }
                Selection::InlineFragment(fragment) => {
                    keys_in_order(
                        document,
                        &[&fragment.node.selection_set.node],
                        keys,
                        followed,
                    );
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if !followed.contains(&name)
                        && let Some(fragment) = document.fragments.get(name)
                    {
                        followed.push(name);
                        keys_in_order(
                            document,
                            &[&fragment.node.selection_set.node],
                            keys,
                            followed,
                        );
                    }
                }
            }
        }
    }
}

/// Orders the keys of `value` (an object, or a list of them at any depth) and of everything
/// below it as `sets` select them.
fn order_keys(document: &ExecutableDocument, sets: &[&SelectionSet], value: &mut Value) {
    let mut keys = Vec::new();
    keys_in_order(document, sets, &mut keys, &mut Vec::new());
    if keys.is_empty() {
        return;
    }
    order_with(document, &keys, value);
}

fn order_with(
    document: &ExecutableDocument,
    keys: &[(&str, Vec<&SelectionSet>)],
    value: &mut Value,
) {
    match value {
        Value::List(items) => {
            for item in items {
                order_with(document, keys, item);
            }
        }
        Value::Object(map) => {
            let position = |key: &str| keys.iter().position(|(k, _)| *k == key);
            let in_order = map
                .keys()
                .map(|k| position(k.as_str()))
                .is_sorted_by(|a, b| a <= b);
            if !in_order {
                map.sort_by_cached_key(|k, _| position(k.as_str()).unwrap_or(usize::MAX));
            }
            for (key, below) in keys {
                if below.iter().any(|set| !set.items.is_empty())
                    && let Some(inner) = map.get_mut(*key)
                {
                    order_keys(document, below, inner);
                }
            }
        }
        _ => {}
    }
}
