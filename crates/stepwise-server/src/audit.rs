//! The audit trail of one request. Handlers note what a staff member read or changed
//! ([`AppState::audit`](crate::state::AppState::audit)); the [`record`] middleware writes the notes once the answer is known,
//! each with the request's [`AuditOutcome`] — so a write refused by validation is logged as
//! `invalid`, not as a write, and a read refused by access control as `refused`. A logged-in
//! caller's refusal that no handler noted (a patient on a staff page, a missing CSRF token, a
//! clinic admin's page tried by a therapist) is written as its method and path. When the
//! entries cannot be written the answer becomes a 500: nothing is shown unaudited.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use stepwise_store::{AuditEntry, AuditOutcome, Id, Store, User};

use crate::clock::Clock;
use crate::error::ApiError;

/// Where [`record`] writes: the store, with the clock that dates the entries.
#[derive(Clone)]
pub struct Sink {
    /// The store the entries go to.
    pub store: Arc<dyn Store>,
    /// The clock of the server.
    pub clock: Arc<dyn Clock>,
}

tokio::task_local! {
    static TRAIL: Trail;
}

/// What a request noted: who asked (once logged in) and what they did to whose data.
#[derive(Clone, Default)]
struct Trail(Arc<Mutex<Notes>>);

#[derive(Default)]
struct Notes {
    actor: Option<(Id, Id)>,
    entries: Vec<(String, Option<Id>)>,
}

impl Trail {
    fn with<T>(&self, f: impl FnOnce(&mut Notes) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Notes the logged-in caller of the current request (a refusal is then audited).
pub fn note_caller(user: &User) {
    let _ = TRAIL.try_with(|trail| trail.with(|n| n.actor = Some((user.id, user.clinic_id))));
}

/// Notes `action` on a patient's data (or on none) for the current request; `false` outside
/// a request (a background job), where the caller writes the entry itself.
pub(crate) fn note(user: &User, action: &str, patient_id: Option<Id>) -> bool {
    TRAIL
        .try_with(|trail| {
            trail.with(|n| {
                n.actor = Some((user.id, user.clinic_id));
                n.entries.push((action.to_string(), patient_id));
            })
        })
        .is_ok()
}

/// Middleware: runs the request with a fresh trail, then writes its entries with the outcome.
pub async fn record(State(sink): State<Sink>, request: Request, next: Next) -> Response {
    let what = format!("{} {}", request.method(), request.uri().path());
    let trail = Trail::default();
    let response = TRAIL.scope(trail.clone(), next.run(request)).await;
    let outcome = AuditOutcome::of_status(response.status().as_u16());
    let notes = trail.with(std::mem::take);
    let Some((actor_id, clinic_id)) = notes.actor else {
        return response;
    };
    let mut entries = notes.entries;
    if entries.is_empty() && outcome == AuditOutcome::Refused {
        entries.push((what, None));
    }
    if entries.is_empty() {
        return response;
    }
    let at = sink.clock.now();
    let entries: Vec<AuditEntry> = entries
        .into_iter()
        .map(|(action, patient_id)| AuditEntry {
            at,
            actor_id,
            action,
            patient_id,
            clinic_id,
            outcome: Some(outcome),
        })
        .collect();
    match sink.store.audit(&entries).await {
        Ok(()) => response,
        Err(err) => ApiError::Internal(format!("writing the audit log: {err}")).into_response(),
    }
}
