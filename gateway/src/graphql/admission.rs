//! What a GraphQL request must satisfy before anything walks or executes it.
//!
//! async-graphql's own checks (its recursion-depth check, validation, complexity) expand
//! fragment spreads as they walk, so a small document whose fragments spread each other twice
//! over twenty levels costs them exponential time and memory, and a fragment that spreads
//! itself overflowed the stack of our own code that looked at the document first. Every
//! request is therefore admitted here first, in time and memory linear in its size:
//!
//! - the text nests brackets at most [`MAX_NESTING`] deep (the parser recurses on them);
//! - at most [`MAX_FRAGMENTS`] fragments, and no fragment spreads itself, directly or not
//!   (the spec's « Fragment spreads must not form cycles »);
//! - after every fragment is expanded, at most [`MAX_SELECTIONS`] selected fields, of which at
//!   most [`MAX_ALIASES`] aliased and at most [`MAX_EXPENSIVE_FIELDS`] of the costly root
//!   fields ([`EXPENSIVE_FIELDS`]) — counted with one memoised pass over the fragments;
//! - no string, in the document or the variables, holds the NUL character (PostgreSQL's text
//!   cannot store it, and nothing a person types contains it).
//!
//! A refused request gets a request error (no `data`) with `extensions.code` `VALIDATION`.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{
    Directive, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{ErrorExtensionValues, Name, Positioned, ServerError, Value, Variables};

/// Deepest nesting of `{`, `[` and `(` in a query text.
pub const MAX_NESTING: usize = 64;
/// Most fragments a document may define.
pub const MAX_FRAGMENTS: usize = 100;
/// Most fields a document may select, every fragment spread expanded.
pub const MAX_SELECTIONS: usize = 2_000;
/// Most aliased fields, every fragment spread expanded (the front end resolves up to 160
/// territories of a perimeter in one request, each under an alias).
pub const MAX_ALIASES: usize = 200;
/// Most costly root fields in one request.
pub const MAX_EXPENSIVE_FIELDS: usize = 3;
/// Root fields that rank or evaluate the catalogue: each costs far more than a lookup.
pub const EXPENSIVE_FIELDS: [&str; 4] = [
    "searchSchemes",
    "matchProject",
    "suggestFinancingPlan",
    "checkFinancingPlan",
];

/// Why a request is refused, in French, with the input field concerned if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub field: Option<String>,
}

impl Refusal {
    fn new(message: impl Into<String>) -> Self {
        Refusal {
            message: message.into(),
            field: None,
        }
    }

    /// The request error that answers the refusal.
    pub fn into_server_error(self) -> ServerError {
        let mut error = ServerError::new(self.message, None);
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", "VALIDATION");
        if let Some(field) = self.field {
            extensions.set("field", field);
        }
        error.extensions = Some(extensions);
        error
    }
}

/// Refuses a query text nested deeper than [`MAX_NESTING`], before it is parsed. Brackets in
/// strings, block strings and comments do not count.
pub fn check_text(query: &str) -> Result<(), Refusal> {
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    if deepest > MAX_NESTING {
        return Err(Refusal::new(format!(
            "Requête trop imbriquée : {MAX_NESTING} niveaux d'accolades ou de crochets au plus."
        )));
    }
    Ok(())
}

/// What a selection costs once its fragments are expanded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Cost {
    selections: usize,
    aliases: usize,
    expensive: usize,
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, other: Cost) {
        self.selections = self.selections.saturating_add(other.selections);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.expensive = self.expensive.saturating_add(other.expensive);
    }
}

/// Expands fragments once each: their cost is remembered (for a spread at the root, where
/// costly fields count, and below it), and a fragment met again while being expanded is a
/// cycle.
struct Expansion<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    costs: HashMap<(&'a str, bool), Cost>,
    expanding: HashSet<&'a str>,
}

impl<'a> Expansion<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, root: bool) -> Result<Cost, Refusal> {
        let mut cost = Cost::default();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    cost += Cost {
                        selections: 1,
                        aliases: usize::from(field.alias.is_some()),
                        expensive: usize::from(
                            root && EXPENSIVE_FIELDS.contains(&field.name.node.as_str()),
                        ),
                    };
                    cost += self.selection_set(&field.selection_set.node, false)?;
                }
                Selection::InlineFragment(fragment) => {
                    cost += self.selection_set(&fragment.node.selection_set.node, root)?;
                }
                Selection::FragmentSpread(spread) => {
                    cost += self.fragment(spread.node.fragment_name.node.as_str(), root)?;
                }
            }
        }
        Ok(cost)
    }

    fn fragment(&mut self, name: &'a str, root: bool) -> Result<Cost, Refusal> {
        if let Some(cost) = self.costs.get(&(name, root)) {
            return Ok(*cost);
        }
        // An unknown fragment is for validation to report.
        let Some(definition) = self.fragments.get(name) else {
            return Ok(Cost::default());
        };
        if !self.expanding.insert(name) {
            return Err(Refusal::new(format!(
                "Le fragment « {name} » s'inclut lui-même : les fragments ne doivent pas former de cycle."
            )));
        }
        let cost = self.selection_set(&definition.node.selection_set.node, root)?;
        self.expanding.remove(name);
        self.costs.insert((name, root), cost);
        Ok(cost)
    }
}

/// Refuses a parsed document over the budget of the module's doc, or holding a NUL.
pub fn check_document(document: &ExecutableDocument) -> Result<(), Refusal> {
    if document.fragments.len() > MAX_FRAGMENTS {
        return Err(Refusal::new(format!(
            "Trop de fragments : {MAX_FRAGMENTS} au plus par requête."
        )));
    }
    let mut expansion = Expansion {
        fragments: &document.fragments,
        costs: HashMap::new(),
        expanding: HashSet::new(),
    };
    let mut cost = Cost::default();
    for (_, operation) in document.operations.iter() {
        cost += expansion.selection_set(&operation.node.selection_set.node, true)?;
    }
    // Fragments no operation uses are still validated: their cycles count too.
    for name in document.fragments.keys() {
        expansion.fragment(name.as_str(), false)?;
    }
    if cost.selections > MAX_SELECTIONS {
        return Err(Refusal::new(format!(
            "Requête trop étendue : {MAX_SELECTIONS} champs au plus, fragments compris."
        )));
    }
    if cost.aliases > MAX_ALIASES {
        return Err(Refusal::new(format!(
            "Trop d'alias : {MAX_ALIASES} au plus par requête."
        )));
    }
    if cost.expensive > MAX_EXPENSIVE_FIELDS {
        return Err(Refusal::new(format!(
            "Au plus {MAX_EXPENSIVE_FIELDS} recherches, vérifications d'éligibilité ou de plan de \
             financement par requête."
        )));
    }
    check_literals(document)
}

/// Refuses a NUL in a string of the document: arguments, directives, variables' defaults.
fn check_literals(document: &ExecutableDocument) -> Result<(), Refusal> {
    fn directives(list: &[Positioned<Directive>]) -> Result<(), Refusal> {
        for directive in list {
            for (name, value) in &directive.node.arguments {
                literal(name.node.as_str(), &value.node)?;
            }
        }
        Ok(())
    }
    fn set(selections: &SelectionSet) -> Result<(), Refusal> {
        for selection in &selections.items {
            match &selection.node {
                Selection::Field(field) => {
                    for (name, value) in &field.node.arguments {
                        literal(name.node.as_str(), &value.node)?;
                    }
                    directives(&field.node.directives)?;
                    set(&field.node.selection_set.node)?;
                }
                Selection::InlineFragment(fragment) => {
                    directives(&fragment.node.directives)?;
                    set(&fragment.node.selection_set.node)?;
                }
                Selection::FragmentSpread(spread) => directives(&spread.node.directives)?,
            }
        }
        Ok(())
    }
    /// A literal as a constant (variables read as null: they are checked with the request's).
    fn literal(field: &str, value: &async_graphql_value::Value) -> Result<(), Refusal> {
        let value = value
            .clone()
            .into_const_with(|_| Ok::<_, std::convert::Infallible>(Value::Null));
        value.map_or(Ok(()), |v| argument(field, &v))
    }
    for (_, operation) in document.operations.iter() {
        for variable in &operation.node.variable_definitions {
            if let Some(default) = &variable.node.default_value {
                argument(variable.node.name.node.as_str(), &default.node)?;
            }
        }
        directives(&operation.node.directives)?;
        set(&operation.node.selection_set.node)?;
    }
    for fragment in document.fragments.values() {
        directives(&fragment.node.directives)?;
        set(&fragment.node.selection_set.node)?;
    }
    Ok(())
}

/// Refuses a NUL in a variable's value.
pub fn check_variables(variables: &Variables) -> Result<(), Refusal> {
    variables
        .iter()
        .try_for_each(|(name, value)| argument(name.as_str(), value))
}

/// Checks the value of an argument or variable `name`. The fields of an input object are
/// named as the domain names them, from inside the object (`project.description`, not
/// `input.project.description`); a scalar by the argument's or variable's name.
fn argument(name: &str, value: &Value) -> Result<(), Refusal> {
    match value {
        Value::Object(map) => map.iter().try_for_each(|(k, v)| constant(k, v)),
        _ => constant(name, value),
    }
}

fn constant(field: &str, value: &Value) -> Result<(), Refusal> {
    match value {
        Value::String(s) if s.contains('\0') => Err(nul_refusal(field)),
        Value::List(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| constant(&format!("{field}.{i}"), v)),
        Value::Object(map) => map
            .iter()
            .try_for_each(|(k, v)| constant(&format!("{field}.{k}"), v)),
        _ => Ok(()),
    }
}

fn nul_refusal(field: &str) -> Refusal {
    Refusal {
        message: format!("Caractère nul (U+0000) refusé dans « {field} »."),
        field: Some(field.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(query: &str) -> Result<(), Refusal> {
        check_text(query)?;
        check_document(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    #[test]
    fn a_fragment_that_spreads_itself_is_refused_as_a_cycle() {
        let refusal = check("{ ...A } fragment A on Query { ...A }").unwrap_err();
        assert!(refusal.message.contains("« A »"), "{}", refusal.message);
        let indirect = "{ ...A } fragment A on Query { me { email } ...B } \
                        fragment B on Query { ...C } fragment C on Query { ...A }";
        assert!(check(indirect).unwrap_err().message.contains("cycle"));
        // A cycle among fragments no operation uses is refused too.
        let unused = "{ me { email } } fragment X on Query { ...Y } fragment Y on Query { ...X }";
        assert!(check(unused).unwrap_err().message.contains("cycle"));
    }

    /// Fi spreads Fi+1 twice, 24 levels: 2^24 fields once expanded, in a 1 KB document.
    fn fan_out(levels: usize) -> String {
        let mut query = String::from("{ ...F0 }\n");
        for i in 0..levels {
            query.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        query.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
        query
    }

    #[test]
    fn fragment_fan_out_is_counted_expanded_and_refused_at_once() {
        let query = fan_out(24);
        assert!(query.len() < 1_500);
        let refusal = check(&query).unwrap_err();
        assert!(
            refusal.message.contains("2000 champs"),
            "{}",
            refusal.message
        );
        // Ten levels expand to 1,024 fields: within the budget.
        check(&fan_out(10)).unwrap();
        check(&fan_out(11)).unwrap_err();
    }

    #[test]
    fn fragments_aliases_and_costly_fields_have_a_ceiling() {
        let fragments: String = (0..=MAX_FRAGMENTS)
            .map(|i| format!("fragment G{i} on Query {{ __typename }} "))
            .collect();
        let refusal = check(&format!("{{ __typename }} {fragments}")).unwrap_err();
        assert!(refusal.message.contains("fragments"), "{}", refusal.message);

        let aliases = |n: usize| {
            let fields: String = (0..n).map(|i| format!("a{i}: __typename ")).collect();
            format!("{{ {fields} }}")
        };
        check(&aliases(MAX_ALIASES)).unwrap();
        assert!(
            check(&aliases(MAX_ALIASES + 1))
                .unwrap_err()
                .message
                .contains("alias")
        );

        let searches = |n: usize| {
            let fields: String = (0..n)
                .map(|i| format!("s{i}: searchSchemes {{ total }} "))
                .collect();
            format!("{{ {fields} }}")
        };
        check(&searches(MAX_EXPENSIVE_FIELDS)).unwrap();
        let refusal = check(&searches(MAX_EXPENSIVE_FIELDS + 1)).unwrap_err();
        assert!(
            refusal.message.contains("recherches"),
            "{}",
            refusal.message
        );
        // Through a fragment on the root, they count the same.
        let via_fragment = "{ ...R ...R } fragment R on Query { a: matchProject { eligibleCount } \
                            b: matchProject { eligibleCount } }";
        assert!(check(via_fragment).is_err());
        // Below the root, a field of the same name is not a costly root field.
        check("{ a: me { email } b: me { email } c: me { email } d: me { email } }").unwrap();
    }

    #[test]
    fn nesting_is_measured_outside_strings_and_comments() {
        let deep = format!(
            "{}{}",
            "{ a ".repeat(MAX_NESTING + 1),
            "}".repeat(MAX_NESTING + 1)
        );
        assert!(check_text(&deep).unwrap_err().message.contains("imbriquée"));
        let list = format!("{{ f(x: {}1{}) }}", "[".repeat(100), "]".repeat(100));
        assert!(check_text(&list).is_err());
        let in_strings = format!(
            "{{ f(x: \"{open}\\\"{open}\", y: \"\"\"{open}\"\"\") }} # {open}",
            open = "{".repeat(200)
        );
        check_text(&in_strings).unwrap();
        // A text that would overflow the parser's stack is refused before it is parsed.
        let hostile = "{".repeat(200_000);
        assert!(check_text(&hostile).is_err());
    }

    #[test]
    fn a_nul_in_a_literal_or_a_variable_is_refused_naming_the_field() {
        let refusal = check(r#"{ scheme(slug: "a\u0000b") { title } }"#).unwrap_err();
        assert_eq!(refusal.field.as_deref(), Some("slug"));
        let nested = r#"query { matchProject(project: { holderType: COMMUNE, communeCode: "52448", text: "x\u0000" }) { eligibleCount } }"#;
        assert_eq!(check(nested).unwrap_err().field.as_deref(), Some("text"));
        let variables = Variables::from_json(serde_json::json!({
            "input": { "holder": { "legalName": "ok", "tags": ["a", "b\u{0}"] } }
        }));
        assert_eq!(
            check_variables(&variables).unwrap_err().field.as_deref(),
            Some("holder.tags.1")
        );
        check_variables(&Variables::from_json(serde_json::json!({ "slug": "détr" }))).unwrap();
        check(r#"{ scheme(slug: "détr\n") { title } }"#).unwrap();
    }
}
