//! The `Date` scalar (`YYYY-MM-DD`). It reads any year chrono reads (`-0001-01-01`,
//! `9999-12-31`): the domain refuses those outside 1900–2100 (`catalog::calendar`) with an error
//! naming the field, which the scalar could not do.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

/// A calendar date, written `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Date(pub NaiveDate);

/// A calendar date, written `YYYY-MM-DD`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| {
                    InputValueError::custom(format!(
                        "date invalide « {s} » : format attendu AAAA-MM-JJ"
                    ))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_year_chrono_reads_reaches_the_domain_which_names_the_field() {
        let parse = |s: &str| <Date as ScalarType>::parse(Value::String(s.into()));
        assert_eq!(
            parse("2026-03-01").unwrap().0,
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
        );
        // Out-of-range years are the domain's to refuse (catalog::calendar), with a field.
        assert!(parse("9999-12-31").is_ok());
        assert!(parse("0001-01-01").is_ok());
        assert_eq!(
            parse("-0001-01-01").unwrap().0,
            NaiveDate::from_ymd_opt(-1, 1, 1).unwrap()
        );
        assert!(parse("2026-02-30").is_err());
        assert!(parse("le 1er mars").is_err());
    }
}
