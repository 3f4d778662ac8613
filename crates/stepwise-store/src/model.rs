//! The records the store keeps: the plain Rust types of `stepwise-care` (no sqlx type appears
//! in them, so callers never see which database is behind the [`Store`](crate::Store)).

pub use stepwise_care::questionnaires::{
    NewRequest, NewResponse, NewSchedule, QuestionnaireRequest, RequestState, ResponseRecord,
    Schedule, SubscoreValue, Timing,
};
pub use stepwise_care::records::*;
pub use stepwise_care::team::*;
