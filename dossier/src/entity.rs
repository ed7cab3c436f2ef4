//! Database tables of the dossier domain, as sea-orm entities (storage shape only).

pub mod holder_profile {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "holder_profile")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: i64,
        /// JSON of [`crate::content::Holder`].
        pub holder: String,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod dossier {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "dossier")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub reference: String,
        pub account_id: i64,
        pub status: String,
        pub holder: Option<String>,
        pub project: Option<String>,
        pub expenses: String,
        pub plan: Option<String>,
        pub certified: bool,
        pub scheme_slugs: String,
        pub submit_key: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub submitted_at: Option<DateTimeUtc>,
        pub withdrawn_reason: Option<String>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod attachment {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "attachment")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub dossier_id: i64,
        pub label: String,
        pub filename: String,
        pub content_type: String,
        pub size: i64,
        pub sha256: String,
        pub uploaded_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod review {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "review")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub dossier_id: i64,
        pub funder_id: i64,
        pub status: String,
        pub decision: Option<String>,
        pub amount: Option<i64>,
        pub motivation: Option<String>,
        pub decided_at: Option<DateTimeUtc>,
        pub decided_by: Option<String>,
        pub requested_amount: i64,
        /// JSON list of the slugs of this funder's schemes in the dossier.
        pub scheme_slugs: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod information_request {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "information_request")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub dossier_id: i64,
        pub funder_id: i64,
        pub asked_by: String,
        pub question: String,
        pub asked_at: DateTimeUtc,
        pub answer: Option<String>,
        pub answered_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod review_note {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "review_note")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub review_id: i64,
        pub funder_id: i64,
        pub author: String,
        pub text: String,
        pub at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod dossier_event {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "dossier_event")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub dossier_id: i64,
        pub at: DateTimeUtc,
        pub actor: String,
        pub action: String,
        pub detail: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod conference {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "conference")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub title: String,
        pub held_on: Date,
        pub status: String,
        pub minutes: Option<String>,
        pub created_at: DateTimeUtc,
        pub closed_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod conference_funder {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "conference_funder")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub conference_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub funder_id: i64,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod agenda_item {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "agenda_item")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub conference_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub dossier_id: i64,
        pub position: i32,
        /// JSON of [`crate::conference::Outcome`], written at close.
        pub outcome: Option<String>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
