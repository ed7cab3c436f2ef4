//! The `guichet` format: a JSON array, or JSON Lines, of scheme records (DESIGN §5).

use super::Parsed;
use crate::scheme::{FieldError, SchemeRecord};

/// Parses a JSON array or JSON Lines. A record that does not parse is reported with its
/// slug (or position) and does not stop the others; only an unreadable file is an error.
pub fn parse(input: &str) -> Result<Vec<Parsed>, String> {
    let trimmed = input.trim_start_matches('\u{feff}').trim();
    let values: Vec<(String, Result<serde_json::Value, String>)> = if trimmed.starts_with('[') {
        match serde_json::from_str::<Vec<serde_json::Value>>(trimmed) {
            Ok(values) => values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("enregistrement {}", i + 1), Ok(v)))
                .collect(),
            Err(e) => return Err(format!("JSON illisible : {e}")),
        }
    } else {
        trimmed
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                (
                    format!("ligne {}", i + 1),
                    serde_json::from_str(line).map_err(|e| format!("JSON illisible : {e}")),
                )
            })
            .collect()
    };
    Ok(values
        .into_iter()
        .map(|(position, value)| {
            let label = value
                .as_ref()
                .ok()
                .and_then(|v| v.get("slug"))
                .and_then(|s| s.as_str())
                .map(str::to_owned)
                .unwrap_or(position);
            let result = match value {
                Ok(value @ serde_json::Value::Object(_)) => SchemeRecord::from_json(value),
                Ok(_) => Err(FieldError {
                    field: String::new(),
                    message: "Chaque enregistrement doit être un objet JSON.".into(),
                }),
                Err(message) => Err(FieldError {
                    field: String::new(),
                    message,
                }),
            };
            Parsed {
                label,
                result,
                warnings: Vec::new(),
                match_by_source_url: false,
                draft_reason: None,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_arrays_and_json_lines_and_reports_bad_records_by_slug() {
        let array = r#"[{"slug":"a","title":"A","funders":[],"beneficiaryTypes":["COMMUNE"]},
                        {"slug":"b","title":"B","funders":[],"beneficiaryTypes":["MAIRIE"]}]"#;
        let parsed = parse(array).unwrap();
        assert_eq!(parsed.len(), 2);
        assert!(parsed[0].result.is_ok());
        assert_eq!(parsed[1].label, "b");
        assert!(parsed[1].result.is_err());

        let lines =
            "{\"slug\":\"a\",\"title\":\"A\",\"funders\":[],\"beneficiaryTypes\":[]}\n\nnot json\n";
        let parsed = parse(lines).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1].label, "ligne 3");
        assert!(parse("[1, 2").is_err());
    }
}
