//! The dates Guichet accepts: from 1900 to 2100. A date outside (`-0001-01-01`,
//! `9999-12-31`) is a typing mistake, never a scheme's calendar, a project's or a meeting's.

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::text::french;

/// The earliest date accepted.
pub const EARLIEST: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");
/// The latest date accepted.
pub const LATEST: NaiveDate = NaiveDate::from_ymd_opt(2100, 12, 31).expect("valid date");

/// `date` when it lies between [`EARLIEST`] and [`LATEST`]; a validation error on `field`
/// otherwise.
pub fn sane(field: &str, date: NaiveDate) -> Result<NaiveDate> {
    if (EARLIEST..=LATEST).contains(&date) {
        Ok(date)
    } else {
        Err(Error::validation(
            field,
            format!(
                "La date doit être comprise entre le {} et le {}.",
                french::date(EARLIEST),
                french::date(LATEST)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_1900_to_2100_are_accepted_and_others_name_the_field() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert!(sane("heldOn", day(1900, 1, 1)).is_ok());
        assert!(sane("heldOn", day(2100, 12, 31)).is_ok());
        for bad in [
            day(-1, 1, 1),
            day(1899, 12, 31),
            day(2101, 1, 1),
            day(9999, 12, 31),
        ] {
            let Err(Error::Validation { field, message }) = sane("input.heldOn", bad) else {
                panic!("{bad} accepted");
            };
            assert_eq!(field, "input.heldOn");
            assert!(message.contains("1er janvier 1900"), "{message}");
        }
    }
}
