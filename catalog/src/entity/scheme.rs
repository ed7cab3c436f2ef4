use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "scheme")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub status: String,
    pub perimeter_national: bool,
    pub max_commune_population: Option<i64>,
    pub max_epci_population: Option<i64>,
    pub min_project_cost: Option<i64>,
    pub max_project_cost: Option<i64>,
    pub no_start_before_filing: Option<bool>,
    pub requires_national_public_cofunding: Option<bool>,
    pub economic_activity: Option<bool>,
    pub rate_min: Option<f64>,
    pub rate_max: Option<f64>,
    pub amount_min: Option<i64>,
    pub amount_max: Option<i64>,
    pub max_public_aid_rate: Option<f64>,
    pub regime: Option<String>,
    pub recurrence: Option<String>,
    pub opens_on: Option<Date>,
    pub closes_on: Option<Date>,
    pub application_url: Option<String>,
    pub source_url: Option<String>,
    pub verified_on: Option<Date>,
    /// JSON list of conditions to check; null when none.
    pub conditions: Option<String>,
    pub funding_basis: Option<String>,
    pub eu_cofunding_rate: Option<f64>,
    pub typical_rate: Option<f64>,
    pub publication_requested_at: Option<DateTimeUtc>,
    pub review_comment: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
