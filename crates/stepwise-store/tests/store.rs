//! The store contract, run against both backends: every test below is an async fn taking the
//! store, and `on_both!` runs it on a fresh SQLite file and on a fresh PostgreSQL database
//! (from `stepwise-testkit`).
//!
//! The PostgreSQL half needs a server: `STEPWISE_TEST_POSTGRES_URL` names one whose user may
//! create databases (`eval "$(scripts/pg-throwaway start)"` starts a throwaway one). Without it
//! those tests fail; they never skip.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use stepwise_engine::{Decision, Reason, ReasonCode, Review, Rules, SessionReport, WeekEvidence};
use stepwise_store::{
    AuditEntry, AuditOutcome, BandDay, Clinic, ClockTime, Completion, DEVICE_TOKEN_LIFETIME,
    Delivery, DeliveryOutcome, Device, DeviceDay, LocalDay, NewDevice, NewFlare, NewInvite,
    NewOutcome, NewPushSubscription, NewReminder, NewReview, NewSession, NewUser, OutcomeKind,
    PatientInvite, PlanChangeSource, PlanOverride, ReminderKind, ReminderMessage, ReminderOutcome,
    ReminderSettings, ReminderState, RestType, Role, SampleBatch, SessionChangeKind, SleepEpisode,
    SleepStage, StepSample, Store, StoreError, User, VapidKeys, WalkingPlan,
};
use stepwise_store::{ImportEnd, ImportState, NewImport};
use stepwise_store::{LiveContact, NewMessage, NewNote, NewTimeEntry};
use stepwise_store::{NewRequest, NewResponse, NewSchedule, RequestState, SubscoreValue, Timing};

use stepwise_testkit::{Backend, fresh_store};

type Shared = Arc<dyn Store>;

// --- harness ---

/// A name no other test (or earlier run) uses.
fn unique(prefix: &str) -> String {
    stepwise_testkit::unique_name(prefix)
}

/// Runs `test` on a fresh, migrated store of `backend` (see `stepwise-testkit`).
async fn on<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Shared) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = fresh_store(backend).await;
    test(db.store.clone()).await;
}

/// Runs each named test against both backends, as `NAME::sqlite` and `NAME::postgres`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    super::on(stepwise_testkit::Backend::Sqlite, super::$name).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    super::on(stepwise_testkit::Backend::Postgres, super::$name).await;
                }
            }
        )*
    };
}

on_both!(
    clinic_and_credentials,
    clinic_defaults,
    invites,
    patient_invite_copies_clinic_defaults,
    record_session_is_idempotent,
    corrections_and_withdrawals_keep_the_record,
    concurrent_identical_sessions_store_one,
    two_hour_check,
    flares_are_idempotent,
    ingest_is_idempotent_and_replaces,
    ingest_is_all_or_nothing,
    concurrent_overlapping_ingests,
    step_samples_keep_the_higher_count,
    step_samples_of_many_windows_in_one_read,
    a_minute_is_estimated_only_when_no_band_saw_it,
    save_review_is_idempotent,
    review_not_applied_changes_nothing,
    concurrent_review_saves_apply_once,
    escalation_freezes_until_acknowledged,
    change_plan_records_history,
    save_rules_increments_versions,
    auth_sessions_expire,
    password_reset_codes_work_once_and_sign_out_everywhere,
    pairing_codes_are_single_use,
    device_tokens_renew_and_revoke,
    audit_log_round_trip,
    band_days_follow_every_upload,
    device_days_name_what_each_device_gave,
    outcomes_and_next_visit,
    review_outcomes_leave_the_inputs_out,
    a_report_reads_its_weeks_and_open_escalations,
    reminders_are_scheduled_once,
    concurrent_claims_never_overlap,
    expired_leases_are_claimed_again_and_fence_the_old_holder,
    completions_log_and_finish,
    push_keys_subscriptions_and_settings,
    an_import_finds_the_paired_band_or_adds_a_device,
    imports_record_progress_and_their_end,
    a_thread_counts_what_each_reader_has_not_read,
    notes_and_time_entries_are_idempotent,
    a_timer_runs_once_and_becomes_an_entry,
    questionnaire_schedules_are_idempotent_and_stop,
    questionnaires_are_asked_once_per_schedule_and_date,
    a_response_is_stored_once_and_closes_its_questionnaire,
);

// --- fixtures ---

/// Monday 2 March 2026, 09:00 UTC.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.to_string(),
        display_name: email.split('@').next().unwrap_or(email).to_string(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$hash-of-{email}"),
    }
}

/// A clinic with its admin, one therapist and one patient.
struct World {
    clinic: Clinic,
    admin: User,
    therapist: User,
    patient: User,
}

async fn invite(
    store: &dyn Store,
    clinic_id: i64,
    role: Role,
    created_by: i64,
    patient: Option<PatientInvite>,
    expires_at: DateTime<Utc>,
) -> String {
    let code_hash = unique("code");
    store
        .create_invite(
            NewInvite {
                code_hash: code_hash.clone(),
                clinic_id,
                role,
                created_by,
                expires_at,
                patient,
            },
            t0(),
        )
        .await
        .expect("create invite");
    code_hash
}

async fn add_patient(store: &dyn Store, world: &World, email: &str) -> User {
    let code = invite(
        store,
        world.clinic.id,
        Role::Patient,
        world.therapist.id,
        Some(PatientInvite {
            therapist_id: world.therapist.id,
            timezone: "Europe/Berlin".into(),
        }),
        t0() + Duration::days(7),
    )
    .await;
    store
        .accept_invite(&code, new_user(email), t0())
        .await
        .expect("accept patient invite")
}

async fn world(store: &dyn Store) -> World {
    let (clinic, admin) = store
        .create_clinic("Physio Nord", new_user("admin@clinic.test"), t0())
        .await
        .expect("create clinic");
    let code = invite(
        store,
        clinic.id,
        Role::Therapist,
        admin.id,
        None,
        t0() + Duration::days(7),
    )
    .await;
    let therapist = store
        .accept_invite(&code, new_user("therapist@clinic.test"), t0())
        .await
        .expect("accept therapist invite");
    let mut world = World {
        clinic,
        admin,
        therapist: therapist.clone(),
        patient: therapist,
    };
    world.patient = add_patient(store, &world, "patient@clinic.test").await;
    world
}

fn walk(client_id: &str, started_at: DateTime<Utc>) -> NewSession {
    NewSession {
        client_id: client_id.to_string(),
        started_at,
        ended_at: started_at + minutes(20),
        walked_s: 900,
        bouts: 3,
        pain_before: Some(2),
        pain_during_max: Some(4),
        effort: Some(5),
        rest_type: Some(RestType::BendForward),
        notes: Some("windy".into()),
    }
}

async fn pair(store: &dyn Store, patient_id: i64, name: &str) -> stepwise_store::Device {
    let code = unique("pair");
    store
        .create_pairing_code(patient_id, &code, t0() + minutes(10))
        .await
        .expect("create pairing code");
    store
        .pair_device(
            &code,
            NewDevice {
                kind: "mi-band-3".into(),
                address: format!("C8:0F:10:00:00:{:02X}", name.len()),
                name: name.to_string(),
            },
            &unique("token"),
            t0(),
        )
        .await
        .expect("pair device")
}

/// `count` minute samples from `first`, with steps `steps(i)`.
fn samples(first: DateTime<Utc>, count: i64, steps: impl Fn(i64) -> i64) -> Vec<StepSample> {
    (0..count)
        .map(|i| StepSample {
            minute: first + minutes(i),
            steps: steps(i),
            heart_rate: if i % 3 == 0 { None } else { Some(60 + i % 40) },
            estimated: false,
        })
        .collect()
}

fn monday(week: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap() + Duration::weeks(i64::from(week))
}

fn new_review(
    week_start: NaiveDate,
    decision: Decision,
    (from, to): (i64, i64),
    applied: bool,
) -> NewReview {
    NewReview {
        week_start,
        rules_version: 1,
        rules: Rules::default(),
        evidence: WeekEvidence {
            sessions: vec![SessionReport {
                day: week_start,
                walked_s: 600,
                pain_before: Some(2),
                pain_during_max: Some(3),
                pain_after_2h: Some(3),
                pain_next_morning: None,
                effort: Some(4),
                verified: Some(true),
            }],
            flares: Vec::new(),
        },
        history: vec![Decision::Hold, Decision::Advance],
        output: Review {
            decision,
            interval_s: to,
            previous_interval_s: from,
            change_pct: ((to - from) * 1000 / from) as f64 / 10.0,
            reasons: vec![
                Reason {
                    code: ReasonCode::WithinLimits,
                    message: "Pain two hours after stayed within limits.".into(),
                },
                Reason {
                    code: ReasonCode::TooFewSessions,
                    message: "Three walks counted.".into(),
                },
            ],
        },
        applied,
    }
}

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "expected NotFound, got {result:?}"
    );
}

fn assert_gone<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Gone)),
        "expected Gone, got {result:?}"
    );
}

fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, containing: &str) {
    match result {
        Err(StoreError::Conflict(message)) => assert!(
            message.contains(containing),
            "conflict message {message:?} should mention {containing:?}"
        ),
        other => panic!("expected Conflict, got {other:?}"),
    }
}

// --- clinics and accounts ---

async fn clinic_and_credentials(store: Shared) {
    assert_eq!(store.count_users().await.unwrap(), 0);
    let (clinic, admin) = store
        .create_clinic("Physio Nord", new_user("admin@clinic.test"), t0())
        .await
        .unwrap();
    assert_eq!(clinic.name, "Physio Nord");
    assert_eq!(clinic.default_rules, Rules::default());
    assert_eq!(clinic.default_plan, WalkingPlan::default());
    assert_eq!(store.clinic(clinic.id).await.unwrap(), clinic);
    assert_eq!(admin.role, Role::ClinicAdmin);
    assert_eq!(admin.clinic_id, clinic.id);
    assert_eq!(store.count_users().await.unwrap(), 1);

    let credentials = store.credentials("admin@clinic.test").await.unwrap();
    assert_eq!(credentials.user, admin);
    assert_eq!(
        credentials.password_hash,
        new_user("admin@clinic.test").password_hash
    );
    assert_eq!(store.user(admin.id).await.unwrap(), admin);
    assert_eq!(
        store
            .clinic_users(clinic.id, Role::ClinicAdmin)
            .await
            .unwrap(),
        vec![admin.clone()]
    );
    assert!(
        store
            .clinic_users(clinic.id, Role::Therapist)
            .await
            .unwrap()
            .is_empty()
    );
    assert_not_found(store.credentials("nobody@clinic.test").await);
    assert_not_found(store.user(admin.id + 1000).await);
    assert_not_found(store.clinic(clinic.id + 1000).await);

    // A second clinic with a taken e-mail leaves nothing behind.
    assert_conflict(
        store
            .create_clinic("Other", new_user("admin@clinic.test"), t0())
            .await,
        "e-mail already registered",
    );
    assert_eq!(store.count_users().await.unwrap(), 1);
    assert_not_found(store.clinic(clinic.id + 1).await);
}

async fn clinic_defaults(store: Shared) {
    let (clinic, _) = store
        .create_clinic("Physio Nord", new_user("admin@clinic.test"), t0())
        .await
        .unwrap();
    let rules = Rules {
        increase_pct: 15,
        escalate_pain: 7,
        ..Rules::default()
    };
    let plan = WalkingPlan {
        interval_s: 240,
        bouts: 3,
        rest_s: 90,
        sessions_per_week: 4,
    };
    store
        .set_clinic_defaults(clinic.id, &rules, &plan)
        .await
        .unwrap();
    let stored = store.clinic(clinic.id).await.unwrap();
    assert_eq!(stored.default_rules, rules);
    assert_eq!(stored.default_plan, plan);
    assert_not_found(
        store
            .set_clinic_defaults(clinic.id + 1000, &rules, &plan)
            .await,
    );
}

async fn invites(store: Shared) {
    let world = world(&*store).await;
    assert_eq!(world.therapist.role, Role::Therapist);
    assert_eq!(world.therapist.clinic_id, world.clinic.id);
    assert_eq!(
        store
            .clinic_users(world.clinic.id, Role::Therapist)
            .await
            .unwrap(),
        vec![world.therapist.clone()]
    );

    let week = t0() + Duration::days(7);
    let code = invite(
        &*store,
        world.clinic.id,
        Role::Therapist,
        world.admin.id,
        None,
        week,
    )
    .await;

    // A taken e-mail is a conflict and does not use the invite up.
    assert_conflict(
        store
            .accept_invite(&code, new_user("therapist@clinic.test"), t0())
            .await,
        "e-mail already registered",
    );
    let second = store
        .accept_invite(&code, new_user("second@clinic.test"), t0())
        .await
        .unwrap();
    assert_eq!(second.role, Role::Therapist);

    // Used once: gone.
    assert_gone(
        store
            .accept_invite(&code, new_user("third@clinic.test"), t0())
            .await,
    );
    // Expired (at exactly its expiry instant too): gone.
    let expiring = invite(
        &*store,
        world.clinic.id,
        Role::Therapist,
        world.admin.id,
        None,
        t0() + minutes(5),
    )
    .await;
    assert_gone(
        store
            .accept_invite(&expiring, new_user("late@clinic.test"), t0() + minutes(5))
            .await,
    );
    assert_not_found(
        store
            .accept_invite("no-such-code", new_user("who@clinic.test"), t0())
            .await,
    );
    assert_not_found(store.credentials("late@clinic.test").await);
    // A duplicate invite code is a conflict.
    assert_conflict(
        store
            .create_invite(
                NewInvite {
                    code_hash: code.clone(),
                    clinic_id: world.clinic.id,
                    role: Role::Therapist,
                    created_by: world.admin.id,
                    expires_at: week,
                    patient: None,
                },
                t0(),
            )
            .await,
        "invite",
    );
    assert_eq!(store.count_users().await.unwrap(), 4);
}

async fn patient_invite_copies_clinic_defaults(store: Shared) {
    let world = world(&*store).await;
    let rules = Rules {
        increase_pct: 20,
        min_sessions: 4,
        ..Rules::default()
    };
    let plan = WalkingPlan {
        interval_s: 420,
        bouts: 4,
        rest_s: 60,
        sessions_per_week: 6,
    };
    store
        .set_clinic_defaults(world.clinic.id, &rules, &plan)
        .await
        .unwrap();
    let later = add_patient(&*store, &world, "later@clinic.test").await;
    assert_eq!(later.role, Role::Patient);

    let patient = store.patient(later.id).await.unwrap();
    assert_eq!(patient.id, later.id);
    assert_eq!(patient.clinic_id, world.clinic.id);
    assert_eq!(patient.therapist_id, world.therapist.id);
    assert_eq!(patient.display_name, "later");
    assert_eq!(patient.timezone, "Europe/Berlin");
    assert_eq!(patient.plan, plan);
    assert!(!patient.frozen);
    assert_eq!(patient.created_at, t0());

    let current = store.current_rules(later.id).await.unwrap();
    assert_eq!(current.version, 1);
    assert_eq!(current.rules, rules);
    assert_eq!(current.created_by, None);
    assert_eq!(current.created_at, t0());
    assert_eq!(store.rules_history(later.id).await.unwrap(), vec![current]);
    assert!(store.plan_history(later.id).await.unwrap().is_empty());

    // The first patient started from the defaults of that time.
    let first = store.patient(world.patient.id).await.unwrap();
    assert_eq!(first.plan, WalkingPlan::default());
    assert_eq!(
        store.current_rules(world.patient.id).await.unwrap().rules,
        Rules::default()
    );

    let ids = |patients: Vec<stepwise_store::Patient>| -> Vec<i64> {
        patients.into_iter().map(|patient| patient.id).collect()
    };
    assert_eq!(
        ids(store.clinic_patients(world.clinic.id).await.unwrap()),
        vec![later.id, world.patient.id]
    );
    assert_eq!(
        ids(store.all_patients().await.unwrap()),
        vec![world.patient.id, later.id]
    );
    assert_not_found(store.patient(world.therapist.id).await);
    assert_not_found(store.current_rules(world.therapist.id).await);
}

// --- walks and flares ---

async fn corrections_and_withdrawals_keep_the_record(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let by = world.patient.id;
    let logged = walk("walk-1", t0());
    let (first, _) = store
        .record_session(patient, logged.clone(), t0() + minutes(25))
        .await
        .unwrap();

    // A correction changes the figures, never the client id or the times, and keeps both.
    let wanted = NewSession {
        client_id: "ignored".into(),
        started_at: t0() + minutes(5),
        pain_during_max: Some(6),
        notes: None,
        ..logged.clone()
    };
    let corrected = store
        .correct_session(patient, first.id, &wanted, by, t0() + minutes(40))
        .await
        .unwrap();
    assert_eq!(corrected.logged.client_id, "walk-1");
    assert_eq!(corrected.logged.started_at, t0());
    assert_eq!(corrected.logged.pain_during_max, Some(6));
    assert_eq!(corrected.logged.notes, None);
    assert_eq!(store.session(patient, first.id).await.unwrap(), corrected);
    // The same correction again (a retry) keeps no second record.
    let again = store
        .correct_session(patient, first.id, &wanted, by, t0() + minutes(41))
        .await
        .unwrap();
    assert_eq!(again, corrected);

    // Withdrawn: gone from every list, a second withdrawal or correction finds nothing.
    let withdrawn = store
        .withdraw_session(patient, first.id, by, t0() + minutes(50))
        .await
        .unwrap();
    assert_eq!(withdrawn.action, SessionChangeKind::Withdrawn);
    assert_eq!(withdrawn.before, corrected.logged);
    assert_eq!(withdrawn.after, None);
    let day = (t0() - Duration::days(1), t0() + Duration::days(1));
    assert!(
        store
            .sessions_between(patient, day.0, day.1)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.session(patient, first.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .withdraw_session(patient, first.id, by, t0() + minutes(51))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .correct_session(patient, first.id, &wanted, by, t0() + minutes(52))
            .await,
        Err(StoreError::NotFound)
    ));
    // A retried upload of the withdrawn walk does not bring it back.
    let (retried, created) = store
        .record_session(patient, logged.clone(), t0() + minutes(53))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(retried.id, first.id);
    assert!(
        store
            .sessions_between(patient, day.0, day.1)
            .await
            .unwrap()
            .is_empty()
    );

    // The record: both changes, in order, with what the walk was before and after.
    let changes = store
        .session_changes(patient, t0(), t0() + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].action, SessionChangeKind::Corrected);
    assert_eq!(changes[0].before, logged);
    assert_eq!(changes[0].after.as_ref(), Some(&corrected.logged));
    assert_eq!(changes[0].at, t0() + minutes(40));
    assert_eq!(changes[0].by_user, by);
    assert_eq!(changes[1], withdrawn);
    // Another patient's walk is not this patient's to change.
    let other = add_patient(&*store, &world, "other@clinic.test").await;
    let (theirs, _) = store
        .record_session(other.id, walk("walk-2", t0()), t0())
        .await
        .unwrap();
    assert!(matches!(
        store.withdraw_session(patient, theirs.id, by, t0()).await,
        Err(StoreError::NotFound)
    ));
}

async fn record_session_is_idempotent(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    // Sub-second instants are stored to the second and still match on retry.
    let started = t0() + Duration::milliseconds(1500);
    let logged = walk("walk-1", started);

    let (first, created) = store
        .record_session(patient, logged.clone(), t0() + minutes(30))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(first.patient_id, patient);
    assert_eq!(first.logged.started_at, t0() + Duration::seconds(1));
    assert_eq!(first.logged.rest_type, Some(RestType::BendForward));
    assert_eq!(first.pain_after_2h, None);
    assert_eq!(first.created_at, t0() + minutes(30));

    let (again, created) = store
        .record_session(patient, logged.clone(), t0() + minutes(31))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again, first);
    assert_eq!(store.session(patient, first.id).await.unwrap(), first);

    let different = NewSession {
        pain_during_max: Some(6),
        ..logged.clone()
    };
    assert_conflict(
        store.record_session(patient, different, t0()).await,
        "was already used for a different walk",
    );

    // The same client id is another patient's own.
    let other = add_patient(&*store, &world, "other@clinic.test").await;
    let (theirs, created) = store
        .record_session(other.id, logged.clone(), t0())
        .await
        .unwrap();
    assert!(created);
    assert_ne!(theirs.id, first.id);
    assert_not_found(store.session(other.id, first.id).await);

    // Optional fields may be absent.
    let bare = NewSession {
        pain_before: None,
        pain_during_max: None,
        effort: None,
        rest_type: None,
        notes: None,
        ..walk("walk-2", t0() + Duration::hours(24))
    };
    let (second, created) = store
        .record_session(patient, bare.clone(), t0())
        .await
        .unwrap();
    assert!(created);
    assert_eq!(second.logged, bare);

    // [from, to): a walk starting exactly at `to` is not included.
    let day = store
        .sessions_between(patient, t0(), t0() + Duration::hours(24))
        .await
        .unwrap();
    assert_eq!(day, vec![first.clone()]);
    let both = store
        .sessions_between(patient, t0(), t0() + Duration::hours(25))
        .await
        .unwrap();
    assert_eq!(both, vec![first, second]);
}

async fn concurrent_identical_sessions_store_one(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .record_session(patient, walk("same-walk", t0()), t0())
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap().unwrap());
    }
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    assert!(results.iter().all(|(record, _)| record == &results[0].0));
    let stored = store
        .sessions_between(patient, t0() - Duration::days(1), t0() + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
}

async fn two_hour_check(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let (walked, _) = store
        .record_session(patient, walk("walk-1", t0()), t0())
        .await
        .unwrap();
    let answer_time = t0() + Duration::hours(2);

    let answered = store
        .answer_two_hour_check(patient, walked.id, 3, answer_time)
        .await
        .unwrap();
    assert_eq!(answered.pain_after_2h, Some(3));
    assert_eq!(answered.answered_at, Some(answer_time));
    assert_eq!(answered.logged, walked.logged);

    // The same answer again is accepted and keeps the first time.
    let again = store
        .answer_two_hour_check(patient, walked.id, 3, answer_time + minutes(5))
        .await
        .unwrap();
    assert_eq!(again, answered);
    assert_conflict(
        store
            .answer_two_hour_check(patient, walked.id, 7, answer_time)
            .await,
        "already answered",
    );

    let other = add_patient(&*store, &world, "other@clinic.test").await;
    assert_not_found(
        store
            .answer_two_hour_check(other.id, walked.id, 3, answer_time)
            .await,
    );
    assert_not_found(
        store
            .answer_two_hour_check(patient, walked.id + 1000, 3, answer_time)
            .await,
    );
    assert_eq!(store.session(patient, walked.id).await.unwrap(), answered);
}

async fn flares_are_idempotent(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let flare = NewFlare {
        client_id: "flare-1".into(),
        started_at: t0() + Duration::milliseconds(250),
        pain: 7,
        notes: Some("after stairs".into()),
    };
    let (first, created) = store
        .report_flare(patient, flare.clone(), t0())
        .await
        .unwrap();
    assert!(created);
    assert_eq!(first.reported.started_at, t0());
    let (again, created) = store
        .report_flare(patient, flare.clone(), t0() + minutes(1))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again, first);
    assert_conflict(
        store
            .report_flare(
                patient,
                NewFlare {
                    pain: 8,
                    ..flare.clone()
                },
                t0(),
            )
            .await,
        "was already used for a different flare",
    );
    let (later, _) = store
        .report_flare(
            patient,
            NewFlare {
                client_id: "flare-2".into(),
                started_at: t0() + Duration::days(1),
                pain: 5,
                notes: None,
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .flares_between(patient, t0(), t0() + Duration::days(1))
            .await
            .unwrap(),
        vec![first.clone()]
    );
    assert_eq!(
        store
            .flares_between(patient, t0() - Duration::days(1), t0() + Duration::days(2))
            .await
            .unwrap(),
        vec![first, later]
    );
}

// --- bands ---

async fn ingest_is_idempotent_and_replaces(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let band = pair(&*store, patient, "left wrist").await;
    let (from, to) = (t0(), t0() + Duration::days(1));

    // More than one statement's worth of rows, with a minute repeated (the last one wins).
    let mut steps = samples(t0(), 1200, |i| i % 90);
    steps.push(StepSample {
        minute: t0() + minutes(5),
        steps: 77,
        heart_rate: Some(101),
        estimated: false,
    });
    let sleep = vec![
        SleepEpisode {
            start: t0() - Duration::hours(8),
            end: t0() - Duration::hours(7),
            stage: SleepStage::Light,
        },
        SleepEpisode {
            start: t0() - Duration::hours(7),
            end: t0() - Duration::hours(6),
            stage: SleepStage::Deep,
        },
    ];
    let batch = SampleBatch {
        steps,
        sleep: sleep.clone(),
    };
    let summary = store.ingest_samples(band.id, &batch, &[]).await.unwrap();
    assert_eq!((summary.steps, summary.sleep), (1200, 2));
    let stored = store.step_samples(patient, from, to).await.unwrap();
    assert_eq!(stored.len(), 1200);
    assert_eq!(stored[0], batch.steps[0]);
    assert_eq!(
        stored[5],
        StepSample {
            minute: t0() + minutes(5),
            steps: 77,
            heart_rate: Some(101),
            estimated: false,
        }
    );
    assert_eq!(stored[1199], batch.steps[1199]);
    assert!(
        stored
            .windows(2)
            .all(|pair| pair[0].minute < pair[1].minute)
    );

    // The same upload again: the same rows.
    let summary = store.ingest_samples(band.id, &batch, &[]).await.unwrap();
    assert_eq!((summary.steps, summary.sleep), (1200, 2));
    assert_eq!(store.step_samples(patient, from, to).await.unwrap(), stored);
    let night = (t0() - Duration::days(1), t0());
    assert_eq!(
        store
            .sleep_episodes(patient, night.0, night.1)
            .await
            .unwrap(),
        sleep
    );

    // A later upload replaces the values it repeats.
    let correction = SampleBatch {
        steps: vec![StepSample {
            minute: t0() + minutes(10),
            steps: 5,
            heart_rate: None,
            estimated: false,
        }],
        sleep: vec![SleepEpisode {
            start: t0() - Duration::hours(7),
            end: t0() - Duration::hours(5),
            stage: SleepStage::Rem,
        }],
    };
    store
        .ingest_samples(band.id, &correction, &[])
        .await
        .unwrap();
    let replaced = store.step_samples(patient, from, to).await.unwrap();
    assert_eq!(replaced.len(), 1200);
    assert_eq!(replaced[10], correction.steps[0]);
    assert_eq!(
        store
            .sleep_episodes(patient, night.0, night.1)
            .await
            .unwrap(),
        vec![sleep[0], correction.sleep[0]]
    );

    // An empty upload stores nothing and succeeds.
    let summary = store
        .ingest_samples(band.id, &SampleBatch::default(), &[])
        .await
        .unwrap();
    assert_eq!((summary.steps, summary.sleep), (0, 0));
}

async fn ingest_is_all_or_nothing(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let band = pair(&*store, patient, "left wrist").await;
    let (from, to) = (t0() - Duration::days(1), t0() + Duration::days(2));

    // An unknown device.
    let batch = SampleBatch {
        steps: samples(t0(), 10, |_| 50),
        sleep: Vec::new(),
    };
    assert!(
        store
            .ingest_samples(band.id + 1000, &batch, &[])
            .await
            .is_err()
    );

    // A bad row in the third statement: the first two are rolled back.
    let mut steps = samples(t0(), 1200, |_| 30);
    steps[1100].steps = -1;
    let batch = SampleBatch {
        steps,
        sleep: Vec::new(),
    };
    assert!(store.ingest_samples(band.id, &batch, &[]).await.is_err());
    assert!(
        store
            .step_samples(patient, from, to)
            .await
            .unwrap()
            .is_empty()
    );

    // Good steps, then a bad sleep episode (ends before it starts): nothing is kept.
    let batch = SampleBatch {
        steps: samples(t0(), 100, |_| 30),
        sleep: vec![SleepEpisode {
            start: t0() - Duration::hours(2),
            end: t0() - Duration::hours(3),
            stage: SleepStage::Asleep,
        }],
    };
    assert!(store.ingest_samples(band.id, &batch, &[]).await.is_err());
    assert!(
        store
            .step_samples(patient, from, to)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .sleep_episodes(patient, from, to)
            .await
            .unwrap()
            .is_empty()
    );

    // The store still works afterwards.
    let good = SampleBatch {
        steps: samples(t0(), 100, |_| 30),
        sleep: Vec::new(),
    };
    store.ingest_samples(band.id, &good, &[]).await.unwrap();
    assert_eq!(
        store.step_samples(patient, from, to).await.unwrap().len(),
        100
    );
}

async fn concurrent_overlapping_ingests(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let band = pair(&*store, patient, "left wrist").await;
    // Six uploads of 700 minutes each, every one overlapping the next by 600.
    let tasks: Vec<_> = (0..6_i64)
        .map(|k| {
            let store = store.clone();
            let batch = SampleBatch {
                steps: samples(t0() + minutes(100 * k), 700, |_| 1000 + k),
                sleep: Vec::new(),
            };
            tokio::spawn(async move { store.ingest_samples(band.id, &batch, &[]).await })
        })
        .collect();
    for task in tasks {
        let summary = task.await.unwrap().expect("concurrent ingest");
        assert_eq!(summary.steps, 700);
    }
    let stored = store
        .step_samples(patient, t0(), t0() + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(stored.len(), 1200);
    for (i, sample) in (0_i64..).zip(&stored) {
        assert_eq!(sample.minute, t0() + minutes(i));
        // Written by one of the uploads that covered the minute.
        let writer = sample.steps - 1000;
        assert!(
            (0..6).contains(&writer) && (100 * writer..100 * writer + 700).contains(&i),
            "minute {i} has {} steps",
            sample.steps
        );
    }
}

/// A minute's steps spread by a collector are estimated; two devices reporting the same
/// minute make it observed when either saw it. Re-uploading a minute replaces its flag.
async fn a_minute_is_estimated_only_when_no_band_saw_it(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let watch = pair(&*store, patient, "watch").await;
    let band = pair(&*store, patient, "band").await;
    let sample = |minute: i64, steps: i64, estimated: bool| StepSample {
        minute: t0() + minutes(minute),
        steps,
        heart_rate: None,
        estimated,
    };
    let batch = |steps| SampleBatch {
        steps,
        sleep: vec![],
    };
    store
        .ingest_samples(
            watch.id,
            &batch(vec![sample(0, 40, true), sample(1, 40, true)]),
            &[],
        )
        .await
        .unwrap();
    store
        .ingest_samples(band.id, &batch(vec![sample(1, 35, false)]), &[])
        .await
        .unwrap();
    let held = store
        .step_samples(patient, t0(), t0() + minutes(5))
        .await
        .unwrap();
    assert_eq!(
        held.iter()
            .map(|s| (s.steps, s.estimated))
            .collect::<Vec<_>>(),
        vec![(40, true), (40, false)]
    );
    // The watch's minute 0 uploaded again as seen: the flag is replaced, not kept.
    store
        .ingest_samples(watch.id, &batch(vec![sample(0, 40, false)]), &[])
        .await
        .unwrap();
    let held = store
        .step_samples(patient, t0(), t0() + minutes(1))
        .await
        .unwrap();
    assert!(!held[0].estimated);
}

async fn step_samples_keep_the_higher_count(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let left = pair(&*store, patient, "left wrist").await;
    let right = pair(&*store, patient, "right wrist").await;
    let stranger = add_patient(&*store, &world, "stranger@clinic.test").await;
    let theirs = pair(&*store, stranger.id, "theirs").await;
    assert_eq!(
        store.devices(patient).await.unwrap(),
        vec![left.clone(), right.clone()]
    );

    let sample = |minute: i64, steps: i64, heart_rate: Option<i64>| StepSample {
        minute: t0() + minutes(minute),
        steps,
        heart_rate,
        estimated: false,
    };
    let left_batch = SampleBatch {
        steps: vec![
            sample(0, 10, Some(80)),
            sample(1, 50, None),
            sample(2, 5, Some(70)),
        ],
        sleep: vec![SleepEpisode {
            start: t0() - Duration::hours(6),
            end: t0() - Duration::hours(5),
            stage: SleepStage::Light,
        }],
    };
    let right_batch = SampleBatch {
        steps: vec![
            sample(1, 40, Some(90)),
            sample(2, 25, Some(65)),
            sample(3, 7, None),
        ],
        sleep: vec![SleepEpisode {
            start: t0() - Duration::hours(6),
            end: t0() - Duration::hours(4),
            stage: SleepStage::Deep,
        }],
    };
    store
        .ingest_samples(left.id, &left_batch, &[])
        .await
        .unwrap();
    store
        .ingest_samples(right.id, &right_batch, &[])
        .await
        .unwrap();
    store
        .ingest_samples(
            theirs.id,
            &SampleBatch {
                steps: vec![sample(0, 999, Some(150))],
                sleep: Vec::new(),
            },
            &[],
        )
        .await
        .unwrap();

    assert_eq!(
        store
            .step_samples(patient, t0(), t0() + minutes(10))
            .await
            .unwrap(),
        vec![
            sample(0, 10, Some(80)),
            sample(1, 50, Some(90)),
            sample(2, 25, Some(70)),
            sample(3, 7, None),
        ]
    );
    // [from, to).
    assert_eq!(
        store
            .step_samples(patient, t0() + minutes(1), t0() + minutes(3))
            .await
            .unwrap(),
        vec![sample(1, 50, Some(90)), sample(2, 25, Some(70))]
    );
    assert_eq!(
        store
            .sleep_episodes(patient, t0() - Duration::days(1), t0())
            .await
            .unwrap(),
        vec![left_batch.sleep[0], right_batch.sleep[0]]
    );
}

/// The minutes of several walks' windows: each minute once, in order, whether the windows
/// overlap, touch or come unsorted, and across more windows than one query takes.
async fn step_samples_of_many_windows_in_one_read(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let band = pair(&*store, patient, "wrist").await;
    // A reading every minute for 1,000 minutes; minute n has n steps.
    let steps: Vec<StepSample> = (0..1000)
        .map(|n| StepSample {
            minute: t0() + minutes(n),
            steps: n,
            heart_rate: None,
            estimated: n % 2 == 1,
        })
        .collect();
    store
        .ingest_samples(
            band.id,
            &SampleBatch {
                steps: steps.clone(),
                sleep: Vec::new(),
            },
            &[],
        )
        .await
        .unwrap();
    let window = |from: i64, to: i64| (t0() + minutes(from), t0() + minutes(to));
    let read = |windows: Vec<(DateTime<Utc>, DateTime<Utc>)>| {
        let store = store.clone();
        async move { store.step_samples_in(patient, &windows).await.unwrap() }
    };
    let at = |ns: &[i64]| -> Vec<StepSample> { ns.iter().map(|&n| steps[n as usize]).collect() };
    assert_eq!(read(vec![]).await, vec![]);
    assert_eq!(read(vec![window(5, 5)]).await, vec![]);
    // Unsorted, overlapping (10..13 and 12..15) and touching (20..22, 22..23).
    assert_eq!(
        read(vec![
            window(22, 23),
            window(12, 15),
            window(10, 13),
            window(20, 22)
        ])
        .await,
        at(&[10, 11, 12, 13, 14, 20, 21, 22])
    );
    // 300 separate windows of one minute each (every third minute): more than one query.
    let many: Vec<_> = (0..300).rev().map(|i| window(3 * i, 3 * i + 1)).collect();
    let expected: Vec<i64> = (0..300).map(|i| 3 * i).collect();
    assert_eq!(read(many).await, at(&expected));
    // One window is the plain range read.
    assert_eq!(
        read(vec![window(100, 160)]).await,
        store
            .step_samples(patient, t0() + minutes(100), t0() + minutes(160))
            .await
            .unwrap()
    );
    // Another patient's windows see none of these minutes.
    assert_eq!(
        store
            .step_samples_in(world.therapist.id, &[window(0, 1000)])
            .await
            .unwrap(),
        vec![]
    );
}

/// A renewal gives a new token and lifetime; the token it replaced works until the new one is
/// first used (a collector that lost the renewal's answer renews again with it); revoking
/// stops both, and pairing the same band again revokes the old pairing.
async fn device_tokens_renew_and_revoke(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let band = NewDevice {
        kind: "mi-band-6".into(),
        address: "C8:0F:10:00:00:01".into(),
        name: "Mi Band 6".into(),
    };
    store
        .create_pairing_code(patient, "code-1", t0() + minutes(10))
        .await
        .unwrap();
    let paired = store
        .pair_device("code-1", band.clone(), "token-1", t0())
        .await
        .unwrap();
    let later = t0() + Duration::days(70);
    let renewed = store
        .renew_device_token(paired.id, "token-1", "token-2", later)
        .await
        .unwrap();
    assert_eq!(renewed.token_expires_at, later + DEVICE_TOKEN_LIFETIME);
    // The answer was lost: the collector renews again with the old token.
    store
        .renew_device_token(paired.id, "token-1", "token-3", later + minutes(1))
        .await
        .unwrap();
    assert_not_found(store.authenticate_device("token-2", later).await);
    assert_eq!(
        store
            .authenticate_device("token-1", later)
            .await
            .unwrap()
            .id,
        paired.id
    );
    // The new token's first use retires the old one.
    store
        .authenticate_device("token-3", later + minutes(2))
        .await
        .unwrap();
    assert_not_found(store.authenticate_device("token-1", later).await);
    assert_not_found(
        store
            .renew_device_token(paired.id, "token-1", "token-4", later)
            .await,
    );
    // Revoked: the row stays (its data too), marked; renewal is refused; revoking again keeps
    // the first time; another patient's device id is not found.
    let revoked = store
        .revoke_device(patient, paired.id, later + minutes(3))
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(later + minutes(3)));
    assert_eq!(
        store
            .authenticate_device("token-3", later + minutes(4))
            .await
            .unwrap()
            .revoked_at,
        Some(later + minutes(3))
    );
    assert_not_found(
        store
            .renew_device_token(paired.id, "token-3", "token-5", later)
            .await,
    );
    let again = store
        .revoke_device(patient, paired.id, later + minutes(9))
        .await
        .unwrap();
    assert_eq!(again.revoked_at, Some(later + minutes(3)));
    assert_not_found(
        store
            .revoke_device(world.patient.id + 1000, paired.id, later)
            .await,
    );
    // Pairing the same band again revokes the earlier, still active pairing.
    store
        .create_pairing_code(patient, "code-2", later)
        .await
        .unwrap();
    let first = store
        .pair_device("code-2", band.clone(), "token-6", later - minutes(1))
        .await
        .unwrap();
    store
        .create_pairing_code(patient, "code-3", later + minutes(10))
        .await
        .unwrap();
    let second = store
        .pair_device("code-3", band, "token-7", later)
        .await
        .unwrap();
    let devices = store.devices(patient).await.unwrap();
    let state = |id| devices.iter().find(|d| d.id == id).unwrap().revoked_at;
    assert_eq!(state(first.id), Some(later));
    assert_eq!(state(second.id), None);
}

async fn pairing_codes_are_single_use(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    store
        .create_pairing_code(patient, "pair-code", t0() + minutes(10))
        .await
        .unwrap();
    let device = NewDevice {
        kind: "infinitime".into(),
        address: "D1:2E:00:00:00:01".into(),
        name: "PineTime".into(),
    };
    let paired = store
        .pair_device("pair-code", device.clone(), "token-1", t0() + minutes(1))
        .await
        .unwrap();
    assert_eq!(paired.patient_id, patient);
    assert_eq!(paired.kind, "infinitime");
    assert_eq!(paired.address, "D1:2E:00:00:00:01");
    assert_eq!(paired.name, "PineTime");
    assert_eq!(paired.paired_at, t0() + minutes(1));
    assert_eq!(
        paired.token_expires_at,
        paired.paired_at + DEVICE_TOKEN_LIFETIME
    );
    assert_eq!((paired.revoked_at, paired.last_seen_at), (None, None));
    let seen = store
        .authenticate_device("token-1", t0() + minutes(5))
        .await
        .unwrap();
    assert_eq!(seen.last_seen_at, Some(t0() + minutes(5)));
    let paired = Device {
        last_seen_at: Some(t0() + minutes(5)),
        ..paired
    };
    assert_eq!(seen, paired);
    assert_eq!(store.devices(patient).await.unwrap(), vec![paired]);

    assert_gone(
        store
            .pair_device("pair-code", device.clone(), "token-2", t0() + minutes(2))
            .await,
    );
    store
        .create_pairing_code(patient, "short-code", t0() + minutes(10))
        .await
        .unwrap();
    assert_gone(
        store
            .pair_device("short-code", device.clone(), "token-3", t0() + minutes(10))
            .await,
    );
    assert_not_found(
        store
            .pair_device("no-such-code", device.clone(), "token-4", t0())
            .await,
    );
    assert_not_found(store.authenticate_device("token-2", t0()).await);
    assert_eq!(store.devices(patient).await.unwrap().len(), 1);
    assert_conflict(
        store
            .create_pairing_code(patient, "pair-code", t0() + minutes(10))
            .await,
        "pairing code",
    );
}

// --- weekly reviews ---

async fn save_review_is_idempotent(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let at = t0() + Duration::days(7);

    let advance = new_review(monday(0), Decision::Advance, (300, 330), true);
    let (saved, created) = store
        .save_review(patient, advance.clone(), at)
        .await
        .unwrap();
    assert!(created);
    assert_eq!(saved.patient_id, patient);
    assert_eq!(saved.week_start, monday(0));
    assert_eq!(saved.rules_version, 1);
    assert_eq!(saved.rules, advance.rules);
    assert_eq!(saved.evidence, advance.evidence);
    assert_eq!(saved.history, advance.history);
    assert_eq!(saved.output, advance.output);
    assert!(saved.applied);
    assert_eq!(saved.created_at, at);
    assert_eq!(saved.acknowledged_at, None);

    let plan = store.patient(patient).await.unwrap().plan;
    assert_eq!(plan.interval_s, 330);
    assert_eq!(plan.bouts, WalkingPlan::default().bouts);
    let history = store.plan_history(patient).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].at, at);
    assert_eq!(
        (history[0].from_interval_s, history[0].to_interval_s),
        (300, 330)
    );
    assert_eq!(history[0].source, PlanChangeSource::Review);
    assert_eq!(history[0].review_id, Some(saved.id));
    assert_eq!(history[0].by_user, None);
    assert_eq!(
        history[0].reason,
        "Pain two hours after stayed within limits.; Three walks counted."
    );

    // The same week again (even with another outcome) changes nothing.
    let retry = new_review(monday(0), Decision::Advance, (330, 363), true);
    let (stored, created) = store
        .save_review(patient, retry, at + minutes(1))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(stored, saved);
    assert_eq!(store.patient(patient).await.unwrap().plan.interval_s, 330);
    assert_eq!(store.plan_history(patient).await.unwrap().len(), 1);

    // An applied hold stores the review but no plan change.
    let hold = new_review(monday(1), Decision::Hold, (330, 330), true);
    let (held, created) = store
        .save_review(patient, hold, at + Duration::days(7))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(store.plan_history(patient).await.unwrap().len(), 1);
    assert_eq!(store.reviews(patient).await.unwrap(), vec![saved, held]);

    assert_not_found(
        store
            .save_review(
                world.patient.id + 1000,
                new_review(monday(0), Decision::Hold, (300, 300), true),
                at,
            )
            .await,
    );
}

async fn review_not_applied_changes_nothing(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let regress = new_review(monday(0), Decision::Regress, (300, 240), false);
    let (saved, created) = store.save_review(patient, regress, t0()).await.unwrap();
    assert!(created);
    assert!(!saved.applied);
    let escalate = new_review(monday(1), Decision::Escalate, (300, 240), false);
    store.save_review(patient, escalate, t0()).await.unwrap();

    let stored = store.patient(patient).await.unwrap();
    assert_eq!(stored.plan, WalkingPlan::default());
    assert!(!stored.frozen);
    assert!(store.plan_history(patient).await.unwrap().is_empty());
    assert_eq!(store.reviews(patient).await.unwrap().len(), 2);
}

async fn concurrent_review_saves_apply_once(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let review = new_review(monday(0), Decision::Advance, (300, 330), true);
                store.save_review(patient, review, t0()).await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let (_, fresh) = task.await.unwrap().expect("concurrent save_review");
        created += usize::from(fresh);
    }
    assert_eq!(created, 1);
    assert_eq!(store.reviews(patient).await.unwrap().len(), 1);
    assert_eq!(store.plan_history(patient).await.unwrap().len(), 1);
    assert_eq!(store.patient(patient).await.unwrap().plan.interval_s, 330);
}

async fn escalation_freezes_until_acknowledged(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let (advance, _) = store
        .save_review(
            patient,
            new_review(monday(0), Decision::Advance, (300, 330), true),
            t0(),
        )
        .await
        .unwrap();
    let (escalation, _) = store
        .save_review(
            patient,
            new_review(monday(1), Decision::Escalate, (330, 264), true),
            t0() + Duration::days(7),
        )
        .await
        .unwrap();
    let frozen = store.patient(patient).await.unwrap();
    assert!(frozen.frozen);
    assert_eq!(frozen.plan.interval_s, 264);
    let history = store.plan_history(patient).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].review_id, Some(escalation.id));

    // Only escalations of this patient can be acknowledged.
    assert_not_found(
        store
            .acknowledge_escalation(patient, advance.id, world.therapist.id, "Seen", t0())
            .await,
    );
    let other = add_patient(&*store, &world, "other@clinic.test").await;
    assert_not_found(
        store
            .acknowledge_escalation(other.id, escalation.id, world.therapist.id, "Seen", t0())
            .await,
    );
    assert!(store.patient(patient).await.unwrap().frozen);

    let when = t0() + Duration::days(8);
    let note = "Phoned: pain settled with rest; keep the walk as it is";
    let acknowledged = store
        .acknowledge_escalation(patient, escalation.id, world.therapist.id, note, when)
        .await
        .unwrap();
    assert_eq!(acknowledged.acknowledged_at, Some(when));
    assert_eq!(acknowledged.acknowledged_by, Some(world.therapist.id));
    assert_eq!(acknowledged.acknowledgement_note.as_deref(), Some(note));
    // The note is kept with the review: in its outcome (reports) as well.
    let outcomes = store.review_outcomes(patient).await.unwrap();
    assert_eq!(outcomes[1].acknowledgement_note.as_deref(), Some(note));
    assert_eq!(acknowledged.output, escalation.output);
    assert!(!store.patient(patient).await.unwrap().frozen);

    // Twice keeps the first, and its note.
    let again = store
        .acknowledge_escalation(
            patient,
            escalation.id,
            world.admin.id,
            "A second note",
            when + minutes(5),
        )
        .await
        .unwrap();
    assert_eq!(again, acknowledged);
    assert!(!store.patient(patient).await.unwrap().frozen);
    assert_eq!(
        store.reviews(patient).await.unwrap(),
        vec![advance, acknowledged.clone()]
    );

    // Reopened (a new red flag that week), it waits for a new acknowledgement and note; the
    // reopening hands back the earlier acknowledgement with its note.
    let reopened = store
        .reopen_escalation(patient, escalation.id)
        .await
        .unwrap();
    assert_eq!(reopened.acknowledgement_note.as_deref(), Some(note));
    let now_open = &store.reviews(patient).await.unwrap()[1];
    assert_eq!(now_open.acknowledged_at, None);
    assert_eq!(now_open.acknowledgement_note, None);
}

// --- plans and rules ---

async fn change_plan_records_history(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let baseline = WalkingPlan {
        interval_s: 180,
        bouts: 3,
        rest_s: 90,
        sessions_per_week: 4,
    };
    let first = store
        .change_plan(
            patient,
            PlanOverride {
                plan: baseline,
                source: PlanChangeSource::Baseline,
                reason: "Tolerance walks: 3 min".into(),
                by_user: world.therapist.id,
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!((first.from_interval_s, first.to_interval_s), (300, 180));
    assert_eq!(first.source, PlanChangeSource::Baseline);
    assert_eq!(first.by_user, Some(world.therapist.id));
    assert_eq!(first.review_id, None);
    assert_eq!(first.at, t0());
    assert_eq!(store.patient(patient).await.unwrap().plan, baseline);

    let raised = WalkingPlan {
        interval_s: 240,
        ..baseline
    };
    let second = store
        .change_plan(
            patient,
            PlanOverride {
                plan: raised,
                source: PlanChangeSource::Override,
                reason: "Walked well in clinic".into(),
                by_user: world.therapist.id,
            },
            t0() + Duration::days(3),
        )
        .await
        .unwrap();
    assert_eq!((second.from_interval_s, second.to_interval_s), (180, 240));
    assert_eq!(second.reason, "Walked well in clinic");
    assert_eq!(store.patient(patient).await.unwrap().plan, raised);
    assert_eq!(
        store.plan_history(patient).await.unwrap(),
        vec![first, second]
    );

    assert_not_found(
        store
            .change_plan(
                world.therapist.id,
                PlanOverride {
                    plan: raised,
                    source: PlanChangeSource::Override,
                    reason: "not a patient".into(),
                    by_user: world.therapist.id,
                },
                t0(),
            )
            .await,
    );
}

async fn save_rules_increments_versions(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let stricter = Rules {
        pain_after_2h_max: 4,
        ..Rules::default()
    };
    let v2 = store
        .save_rules(patient, &stricter, world.therapist.id, t0() + minutes(1))
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.rules, stricter);
    assert_eq!(v2.created_by, Some(world.therapist.id));
    assert_eq!(v2.created_at, t0() + minutes(1));
    assert_eq!(store.current_rules(patient).await.unwrap(), v2);

    // Concurrent saves get distinct versions.
    let tasks: Vec<_> = (0..5_i64)
        .map(|k| {
            let store = store.clone();
            let therapist = world.therapist.id;
            tokio::spawn(async move {
                let rules = Rules {
                    increase_pct: 10 + k,
                    ..Rules::default()
                };
                store
                    .save_rules(patient, &rules, therapist, t0() + minutes(2))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("concurrent save_rules");
    }
    let history = store.rules_history(patient).await.unwrap();
    let versions: Vec<i64> = history.iter().map(|version| version.version).collect();
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(history[1], v2);
    assert_eq!(store.current_rules(patient).await.unwrap().version, 7);
    assert_not_found(
        store
            .save_rules(world.therapist.id, &stricter, world.therapist.id, t0())
            .await,
    );
}

// --- sessions and audit ---

async fn auth_sessions_expire(store: Shared) {
    let world = world(&*store).await;
    let expires = t0() + Duration::hours(12);
    store
        .create_auth_session("token-hash", world.therapist.id, "csrf-1", t0(), expires)
        .await
        .unwrap();
    let live = store
        .auth_session("token-hash", t0() + Duration::hours(11))
        .await
        .unwrap();
    assert_eq!(live.user, world.therapist);
    assert_eq!(live.csrf_token, "csrf-1");
    assert_eq!(live.expires_at, expires);
    assert_not_found(store.auth_session("token-hash", expires).await);
    assert_not_found(store.auth_session("other-hash", t0()).await);

    store.delete_auth_session("token-hash").await.unwrap();
    assert_not_found(store.auth_session("token-hash", t0()).await);
    // Deleting what is gone is fine.
    store.delete_auth_session("token-hash").await.unwrap();
}

async fn password_reset_codes_work_once_and_sign_out_everywhere(store: Shared) {
    let world = world(&*store).await;
    let user = world.patient.id;
    let hour = t0() + Duration::hours(1);
    store
        .create_auth_session("session-a", user, "csrf", t0(), t0() + Duration::days(1))
        .await
        .unwrap();
    store
        .create_password_reset("first", user, Some(world.therapist.id), t0(), hour)
        .await
        .unwrap();
    // A newer code voids the older one.
    store
        .create_password_reset("second", user, None, t0(), hour)
        .await
        .unwrap();
    assert_gone(store.reset_password("first", "new-hash", t0()).await);
    assert_not_found(store.reset_password("unknown", "new-hash", t0()).await);
    let reset = store
        .reset_password("second", "new-hash", t0() + minutes(5))
        .await
        .unwrap();
    assert_eq!(reset.id, user);
    let credentials = store.credentials(&world.patient.email).await.unwrap();
    assert_eq!(credentials.password_hash, "new-hash");
    // Every login of that person ends; a code works once.
    assert_not_found(store.auth_session("session-a", t0() + minutes(6)).await);
    assert_gone(
        store
            .reset_password("second", "other", t0() + minutes(6))
            .await,
    );
    // An expired code does nothing.
    store
        .create_password_reset("third", user, None, t0(), hour)
        .await
        .unwrap();
    assert_gone(store.reset_password("third", "late", hour).await);
    assert_eq!(
        store
            .credentials(&world.patient.email)
            .await
            .unwrap()
            .password_hash,
        "new-hash"
    );
}

async fn audit_log_round_trip(store: Shared) {
    let world = world(&*store).await;
    let entry = |minute: i64, action: &str, patient_id: Option<i64>| AuditEntry {
        at: t0() + minutes(minute),
        actor_id: world.therapist.id,
        action: action.to_string(),
        patient_id,
        clinic_id: world.clinic.id,
        outcome: Some(AuditOutcome::of_status(if action.starts_with("write") {
            422
        } else {
            200
        })),
    };
    let entries = [
        entry(2, "write patient.rules", Some(world.patient.id)),
        entry(1, "read patient.timeline", Some(world.patient.id)),
        entry(3, "read clinic.report", None),
        entry(1, "read patient.timeline", Some(world.patient.id)),
    ];
    store.audit(&entries[..2]).await.unwrap();
    store.audit(&entries[2..]).await.unwrap();
    assert_eq!(
        store.audit_log(world.patient.id).await.unwrap(),
        vec![entries[1].clone(), entries[3].clone(), entries[0].clone()]
    );
    assert_eq!(entries[0].outcome, Some(AuditOutcome::Invalid));
    assert!(store.audit_log(world.admin.id).await.unwrap().is_empty());
}

// --- backend selection ---

#[tokio::test]
async fn in_memory_sqlite_works() {
    let store = stepwise_store::connect("sqlite::memory:").await.unwrap();
    clinic_and_credentials(store).await;
}

#[tokio::test]
async fn sqlite_file_reopens_with_its_data() {
    let db = fresh_store(Backend::Sqlite).await;
    let path = db.url.trim_start_matches("sqlite:").to_string();
    let store = stepwise_store::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    let (clinic, _) = store
        .create_clinic("Physio Nord", new_user("admin@clinic.test"), t0())
        .await
        .unwrap();
    drop(store);
    // Migrations already applied are not applied again.
    let reopened = stepwise_store::connect(&format!("sqlite:{path}"))
        .await
        .unwrap();
    assert_eq!(reopened.clinic(clinic.id).await.unwrap(), clinic);
    assert_eq!(reopened.count_users().await.unwrap(), 1);
}

#[tokio::test]
async fn unknown_url_scheme_is_refused() {
    let result = stepwise_store::connect("mysql://root:secret@db/stepwise").await;
    match result {
        Err(err @ StoreError::Other { .. }) => {
            let message = err.to_string();
            assert!(message.contains("unsupported database URL"), "{message}");
            assert!(!message.contains("secret"), "{message}");
        }
        Err(other) => panic!("expected Other, got {other:?}"),
        Ok(_) => panic!("a mysql URL was accepted"),
    }
}

// --- reports ---

/// The UTC day of `t0()` as a [`LocalDay`] (tests in UTC).
fn utc_day(date: NaiveDate) -> LocalDay {
    let start = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap());
    LocalDay {
        date,
        start,
        end: start + Duration::days(1),
    }
}

async fn band_days_follow_every_upload(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let left = pair(&*store, patient, "left").await;
    let right = pair(&*store, patient, "right-wrist").await;
    let day = t0().date_naive();
    let days = [utc_day(day)];
    // 30 minutes of 100 steps from the left band; the right band saw 20 of them at 120.
    let batch = SampleBatch {
        steps: samples(t0(), 30, |_| 100),
        sleep: vec![SleepEpisode {
            start: t0() - Duration::hours(8),
            end: t0() - Duration::hours(1),
            stage: SleepStage::Deep,
        }],
    };
    store.ingest_samples(left.id, &batch, &days).await.unwrap();
    let got = store.band_days(patient, day, day).await.unwrap();
    assert_eq!(
        got,
        [BandDay {
            date: day,
            steps: 3000,
            minutes_with_data: 30,
            sleep_min: 420
        }]
    );
    let right_batch = SampleBatch {
        steps: samples(t0(), 20, |_| 120),
        sleep: vec![SleepEpisode {
            start: t0() - Duration::minutes(50),
            end: t0() - Duration::minutes(10),
            stage: SleepStage::Awake,
        }],
    };
    store
        .ingest_samples(right.id, &right_batch, &days)
        .await
        .unwrap();
    let got = store.band_days(patient, day, day).await.unwrap();
    // The higher count of each minute; awake time is not sleep.
    assert_eq!(
        (got[0].steps, got[0].minutes_with_data, got[0].sleep_min),
        (3400, 30, 420)
    );
    // A later upload replaces the left band's minutes; the totals follow.
    let correction = SampleBatch {
        steps: samples(t0(), 30, |_| 10),
        sleep: vec![],
    };
    store
        .ingest_samples(left.id, &correction, &days)
        .await
        .unwrap();
    let got = store.band_days(patient, day, day).await.unwrap();
    assert_eq!(
        (got[0].steps, got[0].minutes_with_data),
        (20 * 120 + 10 * 10, 30)
    );
    // Other days and other patients are untouched; an empty range is empty.
    assert!(
        store
            .band_days(patient, day + Duration::days(1), day + Duration::days(9))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .band_days(world.therapist.id, day, day)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn device_days_name_what_each_device_gave(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let band = pair(&*store, patient, "band").await;
    let watch = pair(&*store, patient, "watch").await;
    let day = t0().date_naive();
    let next = day + Duration::days(1);
    let days = [
        utc_day(day),
        utc_day(next),
        utc_day(next + Duration::days(1)),
    ];
    // Day one: minutes from both, a night only the band slept (ending that day) and an awake
    // spell on the watch, which is no sleep.
    let band_batch = SampleBatch {
        steps: samples(t0(), 10, |_| 80),
        sleep: vec![SleepEpisode {
            start: t0() - Duration::hours(8),
            end: t0() - Duration::hours(1),
            stage: SleepStage::Light,
        }],
    };
    let watch_batch = SampleBatch {
        steps: samples(t0() + minutes(5), 10, |_| 90)
            .into_iter()
            .chain(samples(t0() + Duration::days(1), 3, |_| 0))
            .collect(),
        sleep: vec![SleepEpisode {
            start: t0() - Duration::minutes(50),
            end: t0() - Duration::minutes(10),
            stage: SleepStage::Awake,
        }],
    };
    store
        .ingest_samples(band.id, &band_batch, &days)
        .await
        .unwrap();
    store
        .ingest_samples(watch.id, &watch_batch, &days)
        .await
        .unwrap();
    let got = store.device_days(patient, &days).await.unwrap();
    let (first, second) = (band.id.min(watch.id), band.id.max(watch.id));
    let expected: Vec<DeviceDay> = [
        (day, first, true, first == band.id),
        (day, second, true, second == band.id),
        // Day two: only the watch, with minutes of no steps (still data). Day three: nothing.
        (next, watch.id, true, false),
    ]
    .into_iter()
    .map(|(date, device_id, steps, sleep)| DeviceDay {
        date,
        device_id,
        steps,
        sleep,
    })
    .collect();
    assert_eq!(got, expected);
    // Another patient's view, and no days, are empty.
    assert!(
        store
            .device_days(world.therapist.id, &days)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.device_days(patient, &[]).await.unwrap().is_empty());
}

async fn outcomes_and_next_visit(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
    let first = store
        .add_outcome(
            patient,
            NewOutcome {
                kind: OutcomeKind::Oswestry,
                value: 42.0,
                measured_on: day(2),
            },
            world.therapist.id,
            t0(),
        )
        .await
        .unwrap();
    store
        .add_outcome(
            patient,
            NewOutcome {
                kind: OutcomeKind::TimedUpAndGo,
                value: 12.4,
                measured_on: day(1),
            },
            world.therapist.id,
            t0(),
        )
        .await
        .unwrap();
    let all = store.outcomes(patient).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[0].measure.kind,
        OutcomeKind::TimedUpAndGo,
        "ordered by date measured"
    );
    assert_eq!(all[0].measure.value, 12.4);
    assert_eq!(all[1], first);
    assert_eq!(all[1].entered_by, world.therapist.id);

    assert_eq!(store.patient(patient).await.unwrap().next_visit, None);
    store.set_next_visit(patient, Some(day(20))).await.unwrap();
    assert_eq!(
        store.patient(patient).await.unwrap().next_visit,
        Some(day(20))
    );
    store.set_next_visit(patient, None).await.unwrap();
    assert_eq!(store.patient(patient).await.unwrap().next_visit, None);
    assert_not_found(store.set_next_visit(999_999, Some(day(20))).await);
}

async fn review_outcomes_leave_the_inputs_out(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let (saved, _) = store
        .save_review(
            patient,
            new_review(monday(1), Decision::Hold, (300, 300), true),
            t0(),
        )
        .await
        .unwrap();
    let outcomes = store.review_outcomes(patient).await.unwrap();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].id, saved.id);
    assert_eq!(outcomes[0].week_start, saved.week_start);
    assert_eq!(outcomes[0].output, saved.output);
    assert_eq!(outcomes[0].applied, saved.applied);
    assert_eq!(outcomes[0].acknowledged_at, None);
}

async fn a_report_reads_its_weeks_and_open_escalations(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let save = |week, decision| {
        let store = store.clone();
        async move {
            store
                .save_review(
                    patient,
                    new_review(monday(week), decision, (300, 300), false),
                    t0(),
                )
                .await
                .unwrap()
                .0
        }
    };
    let open = save(0, Decision::Escalate).await;
    let seen = save(1, Decision::Escalate).await;
    store
        .acknowledge_escalation(patient, seen.id, world.therapist.id, "Seen", t0())
        .await
        .unwrap();
    save(2, Decision::Hold).await;
    let in_range: Vec<_> = [
        save(3, Decision::Hold).await,
        save(4, Decision::Advance).await,
    ]
    .iter()
    .map(|r| r.id)
    .collect();
    save(5, Decision::Hold).await;
    let read = store
        .reviews_for_report(patient, monday(3), monday(4))
        .await
        .unwrap();
    let ids: Vec<_> = read.iter().map(|r| r.id).collect();
    // The unacknowledged escalation of week 0, then weeks 3 and 4; not the acknowledged
    // escalation (week 1) nor the weeks outside the range (2, 5).
    assert_eq!(ids, [vec![open.id], in_range].concat());
    assert_eq!(read[1], store.reviews(patient).await.unwrap()[3]);
    assert!(
        store
            .reviews_for_report(world.therapist.id, monday(0), monday(5))
            .await
            .unwrap()
            .is_empty()
    );
}

// --- reminders and push ---

fn reminder(patient: i64, key: &str, due: DateTime<Utc>) -> NewReminder {
    NewReminder {
        kind: ReminderKind::Session,
        recipient_id: patient,
        patient_id: patient,
        session_id: None,
        dedupe_key: key.to_string(),
        due_at: due,
        expires_at: Some(due + Duration::hours(2)),
        message: ReminderMessage {
            title: "Time for your walk".into(),
            body: "Today's plan: one walk of 6 min.".into(),
            url: "/app/reminders".into(),
        },
    }
}

fn browser(n: usize) -> NewPushSubscription {
    NewPushSubscription {
        endpoint: format!("https://fcm.googleapis.com/fcm/send/{n}"),
        p256dh: format!("key-{n}"),
        auth: format!("auth-{n}"),
        label: format!("Browser {n}"),
    }
}

fn delivery(reminder_id: i64, subscription_id: i64, outcome: DeliveryOutcome) -> Delivery {
    Delivery {
        reminder_id,
        subscription_id: Some(subscription_id),
        endpoint_host: "fcm.googleapis.com".into(),
        at: t0(),
        status: Some(201),
        outcome,
        error: None,
        duration_ms: 12,
        worker: "w1".into(),
    }
}

async fn reminders_are_scheduled_once(store: Shared) {
    let world = world(&*store).await;
    let p = world.patient.id;
    let batch = [reminder(p, "a", t0()), reminder(p, "b", t0())];
    assert_eq!(store.schedule_reminders(&batch, t0()).await.unwrap(), 2);
    // A retry schedules nothing new, even with a later due time.
    let again = [reminder(p, "a", t0() + minutes(5)), reminder(p, "c", t0())];
    assert_eq!(store.schedule_reminders(&again, t0()).await.unwrap(), 1);
    let all = store
        .patient_reminders(p, t0() - minutes(1), t0() + minutes(10))
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert!(
        all.iter()
            .all(|r| r.due_at == t0() && r.state == ReminderState::Pending)
    );
    assert_eq!(all[0].next_attempt_at, t0());
}

async fn concurrent_claims_never_overlap(store: Shared) {
    let world = world(&*store).await;
    let p = world.patient.id;
    let due: Vec<NewReminder> = (0..200)
        .map(|n| reminder(p, &format!("r{n}"), t0()))
        .collect();
    store.schedule_reminders(&due, t0()).await.unwrap();
    // Not yet due: nothing to claim.
    let early = store
        .claim_due_reminders("w0", t0() - minutes(1), t0() + minutes(1), 50)
        .await
        .unwrap();
    assert!(early.is_empty());
    let workers = (0..4).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim_due_reminders(&format!("w{w}"), t0(), t0() + minutes(1), 16)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return mine;
                }
                assert!(
                    batch
                        .iter()
                        .all(|r| r.state == ReminderState::Sending && r.attempts == 1)
                );
                mine.extend(batch.into_iter().map(|r| r.id));
            }
        })
    });
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.await.unwrap());
    }
    let total = claimed.len();
    claimed.sort_unstable();
    claimed.dedup();
    assert_eq!(
        (total, claimed.len()),
        (200, 200),
        "each reminder claimed exactly once"
    );
}

async fn expired_leases_are_claimed_again_and_fence_the_old_holder(store: Shared) {
    let world = world(&*store).await;
    let p = world.patient.id;
    store
        .schedule_reminders(&[reminder(p, "r", t0())], t0())
        .await
        .unwrap();
    let lease_end = t0() + minutes(1);
    let first = store
        .claim_due_reminders("w1", t0(), lease_end, 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    // While the lease holds nobody else gets it; once it has run out, another does.
    let during = store.claim_due_reminders("w2", lease_end - Duration::seconds(1), lease_end, 10);
    assert!(during.await.unwrap().is_empty());
    let after = store
        .claim_due_reminders("w2", lease_end, lease_end + minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].attempts, 2);
    let done = |worker: &'static str| {
        let store = store.clone();
        let id = after[0].id;
        async move {
            store
                .complete_reminders(
                    worker,
                    &[Completion {
                        reminder_id: id,
                        outcome: ReminderOutcome::Sent,
                        deliveries: vec![],
                    }],
                    lease_end,
                )
                .await
                .unwrap()
        }
    };
    // The first holder, back from the dead, can no longer finish it; the new holder can.
    assert_eq!(done("w1").await, vec![false]);
    assert_eq!(done("w2").await, vec![true]);
    assert_eq!(done("w2").await, vec![false], "finished once");
    let stored = store.reminder(after[0].id).await.unwrap();
    assert_eq!(
        (stored.state, stored.finished_at),
        (ReminderState::Sent, Some(lease_end))
    );
}

async fn completions_log_and_finish(store: Shared) {
    let world = world(&*store).await;
    let p = world.patient.id;
    let (kept, _) = store
        .save_push_subscription(p, browser(1), t0())
        .await
        .unwrap();
    let (gone, _) = store
        .save_push_subscription(p, browser(2), t0())
        .await
        .unwrap();
    let batch = [
        reminder(p, "a", t0()),
        reminder(p, "b", t0()),
        reminder(p, "c", t0()),
    ];
    store.schedule_reminders(&batch, t0()).await.unwrap();
    let claimed = store
        .claim_due_reminders("w1", t0(), t0() + minutes(1), 10)
        .await
        .unwrap();
    let [a, b, c] = [claimed[0].id, claimed[1].id, claimed[2].id];
    let retry_at = t0() + Duration::seconds(30);
    let kept_flags = store
        .complete_reminders(
            "w1",
            &[
                Completion {
                    reminder_id: a,
                    outcome: ReminderOutcome::Sent,
                    deliveries: vec![
                        delivery(a, kept.id, DeliveryOutcome::Delivered),
                        delivery(a, gone.id, DeliveryOutcome::Gone),
                    ],
                },
                Completion {
                    reminder_id: b,
                    outcome: ReminderOutcome::Retry {
                        at: retry_at,
                        error: "the push service answered 503".into(),
                    },
                    deliveries: vec![delivery(b, kept.id, DeliveryOutcome::Retryable)],
                },
                Completion {
                    reminder_id: c,
                    outcome: ReminderOutcome::Failed("the push service answered 400".into()),
                    deliveries: vec![],
                },
            ],
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(kept_flags, vec![true, true, true]);
    // 410: the subscription is gone; 201: stamped.
    let left = store.push_subscriptions(p).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].last_delivered_at, Some(t0()));
    assert_eq!(
        store.delivered_subscriptions(a).await.unwrap(),
        vec![kept.id]
    );
    assert_eq!(store.deliveries(a).await.unwrap().len(), 2);
    let b_now = store.reminder(b).await.unwrap();
    assert_eq!(
        (
            b_now.state,
            b_now.next_attempt_at,
            b_now.last_error.as_deref()
        ),
        (
            ReminderState::Pending,
            retry_at,
            Some("the push service answered 503")
        )
    );
    assert_eq!(b_now.finished_at, None);
    // Not claimable before its next attempt.
    let early = store.claim_due_reminders("w1", retry_at - Duration::seconds(1), retry_at, 10);
    assert!(early.await.unwrap().is_empty());
    let c_now = store.reminder(c).await.unwrap();
    assert_eq!(c_now.state, ReminderState::Failed);

    // Answering a walk cancels only its pending reminders.
    let (walked, _) = store
        .record_session(p, walk("w", t0()), t0())
        .await
        .unwrap();
    let check = NewReminder {
        kind: ReminderKind::TwoHourCheck,
        session_id: Some(walked.id),
        ..reminder(p, "check", t0() + Duration::hours(2))
    };
    store.schedule_reminders(&[check], t0()).await.unwrap();
    assert_eq!(
        store
            .cancel_session_reminders(walked.id, &[ReminderKind::TwoHourCheck], t0())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .cancel_session_reminders(walked.id, &[ReminderKind::TwoHourCheck], t0())
            .await
            .unwrap(),
        0
    );
}

async fn push_keys_subscriptions_and_settings(store: Shared) {
    let world = world(&*store).await;
    let p = world.patient.id;
    let keys = |n: &str| VapidKeys {
        private_key: format!("private-{n}"),
        public_key: format!("public-{n}"),
        created_at: t0(),
    };
    // The first key pair stored wins; later candidates are ignored.
    assert_eq!(store.vapid_keys(keys("1")).await.unwrap(), keys("1"));
    assert_eq!(store.vapid_keys(keys("2")).await.unwrap(), keys("1"));

    let (first, new) = store
        .save_push_subscription(p, browser(1), t0())
        .await
        .unwrap();
    assert!(new);
    let (again, new) = store
        .save_push_subscription(p, browser(1), t0())
        .await
        .unwrap();
    assert_eq!((again.id, new), (first.id, false));
    // Someone who only knows the endpoint URL cannot take it over (and silence the owner's
    // reminders): moving it needs the subscription's own auth secret.
    let t = world.therapist.id;
    let forged = NewPushSubscription {
        auth: "guessed".into(),
        p256dh: "attacker-key".into(),
        ..browser(1)
    };
    assert_conflict(
        store.save_push_subscription(t, forged, t0()).await,
        "belongs to another browser subscription",
    );
    assert_eq!(
        store.push_subscriptions(p).await.unwrap(),
        vec![first.clone()]
    );
    // The same browser signing in as someone else moves to them.
    let (moved, _) = store
        .save_push_subscription(t, browser(1), t0())
        .await
        .unwrap();
    assert_eq!((moved.id, moved.user_id), (first.id, t));
    assert!(store.push_subscriptions(p).await.unwrap().is_empty());
    assert!(matches!(
        store.delete_push_subscription(p, first.id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_push_subscription(t, first.id).await.unwrap();

    assert_eq!(
        store.reminder_settings(p).await.unwrap(),
        ReminderSettings::default()
    );
    let planned = reminder(p, "session", t0() + Duration::hours(3));
    store.schedule_reminders(&[planned], t0()).await.unwrap();
    let settings = ReminderSettings {
        session_times: vec![ClockTime(
            chrono::NaiveTime::from_hms_opt(7, 30, 0).unwrap(),
        )],
        ..ReminderSettings::default()
    };
    store
        .save_reminder_settings(p, &settings, t0())
        .await
        .unwrap();
    assert_eq!(store.reminder_settings(p).await.unwrap(), settings);
    assert_eq!(
        store.all_reminder_settings().await.unwrap(),
        vec![(p, settings)]
    );
    // Pending session reminders are dropped, to be planned again from the new settings.
    let left = store
        .patient_reminders(p, t0(), t0() + Duration::days(1))
        .await
        .unwrap();
    assert!(left.is_empty());

    // Band silence: paired, no data yet, then data.
    let device = pair(&*store, p, "Mi Band").await;
    let silence = store.band_silence("phone-import").await.unwrap();
    assert_eq!(silence.len(), 1);
    assert_eq!(silence[0].patient_id, p);
    let minute = t0() + Duration::days(1);
    let batch = SampleBatch {
        steps: vec![StepSample {
            minute,
            steps: 80,
            heart_rate: None,
            estimated: false,
        }],
        sleep: vec![],
    };
    store.ingest_samples(device.id, &batch, &[]).await.unwrap();
    assert_eq!(
        store.band_silence("phone-import").await.unwrap()[0].last_seen,
        minute
    );
}

// --- imports ---

async fn an_import_finds_the_paired_band_or_adds_a_device(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    // Before any band: an imported device and an import pairing are not bands that can fall
    // silent (the patient is never told to sync a band they do not have).
    store
        .import_device(
            patient,
            NewDevice {
                kind: "fitbit-takeout".into(),
                address: "11111111-2222-3333-4444-555555555555".into(),
                name: "Fitbit".into(),
            },
            &unique("never-shown"),
            t0(),
        )
        .await
        .unwrap();
    let code = unique("pair");
    store
        .create_pairing_code(patient, &code, t0() + minutes(10))
        .await
        .unwrap();
    store
        .pair_device(
            &code,
            NewDevice {
                kind: "phone-import".into(),
                address: "66666666-7777-8888-9999-000000000000".into(),
                name: "Imports".into(),
            },
            &unique("token"),
            t0(),
        )
        .await
        .unwrap();
    assert!(
        store
            .band_silence("phone-import")
            .await
            .unwrap()
            .iter()
            .all(|s| s.patient_id != patient)
    );
    let band = pair(&*store, patient, "Mi Band 3").await;
    // The same band, named by an export (lower case): its data goes to the paired device.
    let found = store
        .import_device(
            patient,
            NewDevice {
                kind: "gadgetbridge".into(),
                address: band.address.to_lowercase(),
                name: "Mi Band 3 (Gadgetbridge)".into(),
            },
            &unique("never-shown"),
            t0() + minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(found, band);
    assert!(!found.imported);
    // A device the patient has not paired: added, imported, its token expired at once.
    let watch = NewDevice {
        kind: "apple-health".into(),
        address: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0".into(),
        name: "Apple Watch".into(),
    };
    let added = store
        .import_device(
            patient,
            watch.clone(),
            &unique("never-shown"),
            t0() + minutes(2),
        )
        .await
        .unwrap();
    assert!(added.imported);
    assert_eq!(added.token_expires_at, t0() + minutes(2));

    assert_eq!(
        (added.kind.as_str(), added.name.as_str()),
        ("apple-health", "Apple Watch")
    );
    // A second import of it finds it.
    let again = store
        .import_device(patient, watch, &unique("never-shown"), t0() + minutes(3))
        .await
        .unwrap();
    assert_eq!(again, added);
    assert_eq!(store.devices(patient).await.unwrap().len(), 4);
}

async fn imports_record_progress_and_their_end(store: Shared) {
    let world = world(&*store).await;
    let patient = world.patient.id;
    let upload = NewImport {
        patient_id: patient,
        uploaded_by: world.therapist.id,
        file_name: "export.zip".into(),
        size_bytes: 1234,
    };
    let created = store.create_import(upload.clone(), t0()).await.unwrap();
    assert_eq!(created.upload, upload);
    assert_eq!((created.state, created.progress), (ImportState::Reading, 0));
    store
        .set_import_progress(
            created.id,
            ImportState::Storing,
            80,
            Some("apple-health"),
            t0() + minutes(1),
        )
        .await
        .unwrap();
    let read = store.import(patient, created.id).await.unwrap();
    assert_eq!(read.state, ImportState::Storing);
    assert_eq!(read.progress, 80);
    assert_eq!(read.format.as_deref(), Some("apple-health"));
    assert_eq!(read.updated_at, t0() + minutes(1));
    store
        .finish_import(
            created.id,
            ImportEnd::Done("{\"days\":3}".into()),
            t0() + minutes(2),
        )
        .await
        .unwrap();
    // A finished import does not change again.
    store
        .finish_import(
            created.id,
            ImportEnd::Failed("late".into()),
            t0() + minutes(3),
        )
        .await
        .unwrap();
    store
        .set_import_progress(created.id, ImportState::Reading, 5, None, t0() + minutes(3))
        .await
        .unwrap();
    let done = store.import(patient, created.id).await.unwrap();
    assert_eq!(done.state, ImportState::Done);
    assert_eq!(done.progress, 100);
    assert_eq!(done.summary.as_deref(), Some("{\"days\":3}"));
    assert_eq!(done.error, None);
    assert_eq!(done.finished_at, Some(t0() + minutes(2)));
    let failed = store
        .create_import(upload, t0() + minutes(5))
        .await
        .unwrap();
    store
        .finish_import(
            failed.id,
            ImportEnd::Failed("not an export".into()),
            t0() + minutes(6),
        )
        .await
        .unwrap();
    let list = store.imports(patient, 10).await.unwrap();
    assert_eq!(
        list.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![failed.id, created.id]
    );
    assert_eq!(list[0].error.as_deref(), Some("not an export"));
    assert_not_found(store.import(world.therapist.id, created.id).await);
}

// --- the care team's work ---

fn message(patient_id: i64, author_id: i64, client_id: &str, body: &str) -> NewMessage {
    NewMessage {
        patient_id,
        author_id,
        body: body.into(),
        client_id: client_id.into(),
    }
}

async fn a_thread_counts_what_each_reader_has_not_read(store: Shared) {
    let w = world(store.as_ref()).await;
    let other = add_patient(store.as_ref(), &w, "other@clinic.test").await;
    let (p, t) = (w.patient.id, w.therapist.id);
    let (first, new) = store
        .post_message(message(p, p, "m1", "My knee is sore today."), t0())
        .await
        .unwrap();
    assert!(new);
    assert_eq!(first.author_name, w.patient.display_name);
    assert_eq!(first.author_role, Role::Patient);
    // A retry is the same message; the same client id for other text is a conflict.
    let (again, new) = store
        .post_message(message(p, p, "m1", "My knee is sore today."), t0())
        .await
        .unwrap();
    assert!(!new);
    assert_eq!(again, first);
    assert_conflict(
        store
            .post_message(message(p, p, "m1", "Something else"), t0())
            .await,
        "message",
    );
    store
        .post_message(message(p, p, "m2", "And stiff."), t0() + minutes(1))
        .await
        .unwrap();
    // The patient has read what they wrote; the therapist has two unread.
    assert_eq!(store.thread(p, p, 50).await.unwrap().unread, 0);
    let thread = store.thread(p, t, 50).await.unwrap();
    assert_eq!(thread.unread, 2);
    assert_eq!(thread.last_read_id, 0);
    assert_eq!(
        thread
            .messages
            .iter()
            .map(|m| m.body.as_str())
            .collect::<Vec<_>>(),
        ["My knee is sore today.", "And stiff."]
    );
    // Another patient's message counts in their thread only.
    store
        .post_message(message(other.id, other.id, "m1", "Hello"), t0())
        .await
        .unwrap();
    assert_eq!(
        store.unread_by_patient(t, w.clinic.id).await.unwrap(),
        [(p, 2), (other.id, 1)]
    );
    // Reading up to the first leaves one; a mark never moves back; beyond the end is the end.
    assert_eq!(store.mark_read(p, t, first.id, t0()).await.unwrap(), 1);
    assert_eq!(store.mark_read(p, t, 0, t0()).await.unwrap(), 1);
    assert_eq!(store.mark_read(p, t, i64::MAX, t0()).await.unwrap(), 0);
    // The therapist's answer is unread for the patient, read for the therapist.
    store
        .post_message(message(p, t, "r1", "Rest it today."), t0() + minutes(5))
        .await
        .unwrap();
    assert_eq!(store.thread(p, p, 50).await.unwrap().unread, 1);
    assert_eq!(store.thread(p, t, 50).await.unwrap().unread, 0);
    // The admin, who has read nothing, sees every message as unread; the limit keeps the last.
    let thread = store.thread(p, w.admin.id, 2).await.unwrap();
    assert_eq!(thread.unread, 3);
    assert_eq!(thread.messages.len(), 2);
    assert_eq!(thread.messages[1].body, "Rest it today.");
    // A message to a patient that does not exist stores nothing.
    assert_not_found(
        store
            .post_message(message(999_999, t, "x", "?"), t0())
            .await,
    );
}

async fn notes_and_time_entries_are_idempotent(store: Shared) {
    let w = world(store.as_ref()).await;
    let (p, t) = (w.patient.id, w.therapist.id);
    let note = NewNote {
        patient_id: p,
        author_id: t,
        body: "Prefers morning walks.".into(),
        client_id: "n1".into(),
    };
    let (stored, new) = store.add_note(note.clone(), t0()).await.unwrap();
    assert!(new);
    let (again, new) = store.add_note(note.clone(), t0()).await.unwrap();
    assert!(!new);
    assert_eq!(again, stored);
    assert_conflict(
        store
            .add_note(
                NewNote {
                    body: "else".into(),
                    ..note
                },
                t0(),
            )
            .await,
        "note",
    );
    assert_eq!(store.notes(p, 10).await.unwrap(), [stored]);

    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let entry = NewTimeEntry {
        patient_id: p,
        clinician_id: t,
        performed_on: day,
        minutes: 12,
        activity: "Reviewed the week's walks".into(),
        live: Some(LiveContact::Video),
        client_id: "e1".into(),
    };
    let (stored, new) = store.add_time_entry(entry.clone(), t0()).await.unwrap();
    assert!(new);
    assert_eq!(stored.minutes, Some(12));
    assert_eq!(stored.live, Some(LiveContact::Video));
    assert_eq!(stored.clinician_name, w.therapist.display_name);
    let (_, new) = store.add_time_entry(entry.clone(), t0()).await.unwrap();
    assert!(!new);
    assert_conflict(
        store
            .add_time_entry(
                NewTimeEntry {
                    minutes: 13,
                    ..entry.clone()
                },
                t0(),
            )
            .await,
        "time entry",
    );
    // Out of the database's range: refused, nothing stored.
    assert!(
        store
            .add_time_entry(
                NewTimeEntry {
                    minutes: 0,
                    client_id: "e2".into(),
                    ..entry
                },
                t0(),
            )
            .await
            .is_err()
    );
    let next = day.succ_opt().unwrap();
    assert_eq!(store.time_entries(p, day, day).await.unwrap().len(), 1);
    assert!(store.time_entries(p, next, next).await.unwrap().is_empty());
}

async fn a_timer_runs_once_and_becomes_an_entry(store: Shared) {
    let w = world(store.as_ref()).await;
    let (p, t) = (w.patient.id, w.therapist.id);
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let (timer, new) = store.start_timer(p, t, day, t0()).await.unwrap();
    assert!(new && timer.is_running());
    assert_eq!(timer.started_at, Some(t0()));
    // Starting again returns the running timer; the admin's timer is their own.
    let (same, new) = store
        .start_timer(p, t, day, t0() + minutes(3))
        .await
        .unwrap();
    assert!(!new);
    assert_eq!(same.id, timer.id);
    store.start_timer(p, w.admin.id, day, t0()).await.unwrap();
    store.cancel_timer(p, w.admin.id).await.unwrap();
    assert_not_found(store.cancel_timer(p, w.admin.id).await);
    let stopped = store
        .stop_timer(
            p,
            t,
            21,
            "Phone call about the flare",
            Some(LiveContact::Call),
        )
        .await
        .unwrap();
    assert_eq!(stopped.id, timer.id);
    assert_eq!(stopped.minutes, Some(21));
    assert_eq!(stopped.live, Some(LiveContact::Call));
    assert!(!stopped.is_running());
    assert_not_found(store.stop_timer(p, t, 5, "x", None).await);
    // A new timer may start once the last one stopped.
    let (next, new) = store
        .start_timer(p, t, day, t0() + minutes(30))
        .await
        .unwrap();
    assert!(new);
    assert_ne!(next.id, timer.id);
    let entries = store.time_entries(p, day, day).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries[1].is_running());
}

// --- questionnaires ---

fn schedule(patient_id: i64, set_by: i64, client_id: &str, timing: Timing) -> NewSchedule {
    NewSchedule {
        patient_id,
        instrument: stepwise_outcomes::Instrument::Psfs,
        timing,
        set_by,
        starts_on: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        client_id: client_id.into(),
    }
}

fn asking(patient_id: i64, schedule_id: i64, due_on: NaiveDate) -> NewRequest {
    NewRequest {
        patient_id,
        instrument: stepwise_outcomes::Instrument::Psfs,
        schedule_id,
        due_on,
        reason: "at the start".into(),
    }
}

fn psfs_answers(ratings: &[i64]) -> std::collections::BTreeMap<String, stepwise_outcomes::Answer> {
    use stepwise_outcomes::Answer;
    let mut answers = std::collections::BTreeMap::new();
    for (i, rating) in ratings.iter().enumerate() {
        answers.insert(
            format!("activity_{}", i + 1),
            Answer::Text(format!("Activity {i}")),
        );
        answers.insert(format!("rating_{}", i + 1), Answer::Integer(*rating));
    }
    answers
}

async fn questionnaire_schedules_are_idempotent_and_stop(store: Shared) {
    let w = world(store.as_ref()).await;
    let (p, t) = (w.patient.id, w.therapist.id);
    let every = schedule(p, t, "s1", Timing::EveryWeeks { weeks: 4 });
    let (stored, new) = store.add_schedule(every.clone(), t0()).await.unwrap();
    assert!(new);
    assert_eq!(stored.timing, Timing::EveryWeeks { weeks: 4 });
    assert_eq!(stored.set_by_name, w.therapist.display_name);
    assert!(stored.active());
    let (again, new) = store.add_schedule(every.clone(), t0()).await.unwrap();
    assert!(!new);
    assert_eq!(again, stored);
    assert_conflict(
        store
            .add_schedule(
                NewSchedule {
                    timing: Timing::Start,
                    ..every
                },
                t0(),
            )
            .await,
        "schedule",
    );
    let (start, _) = store
        .add_schedule(schedule(p, t, "s2", Timing::Start), t0())
        .await
        .unwrap();
    assert_eq!(store.schedules(p).await.unwrap().len(), 2);
    assert_eq!(store.active_schedules().await.unwrap().len(), 2);

    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let asked = store
        .add_requests(&[asking(p, start.id, day)], &[], t0())
        .await
        .unwrap();
    let stopped = store
        .stop_schedule(p, start.id, t0() + minutes(5))
        .await
        .unwrap();
    assert_eq!(stopped.stopped_at, Some(t0() + minutes(5)));
    assert!(!stopped.active());
    // Stopping again keeps the first stop; its open questionnaire expired.
    let again = store
        .stop_schedule(p, start.id, t0() + minutes(9))
        .await
        .unwrap();
    assert_eq!(again.stopped_at, Some(t0() + minutes(5)));
    let request = store.request(p, asked[0].id).await.unwrap();
    assert_eq!(request.state, RequestState::Expired);
    assert_eq!(store.active_schedules().await.unwrap().len(), 1);
    // Another patient's schedule is not found.
    let other = add_patient(store.as_ref(), &w, "other@clinic.test").await;
    assert_not_found(store.stop_schedule(other.id, stored.id, t0()).await);
}

async fn questionnaires_are_asked_once_per_schedule_and_date(store: Shared) {
    let w = world(store.as_ref()).await;
    let (p, t) = (w.patient.id, w.therapist.id);
    let (s, _) = store
        .add_schedule(schedule(p, t, "s1", Timing::EveryWeeks { weeks: 1 }), t0())
        .await
        .unwrap();
    let d1 = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
    let d2 = NaiveDate::from_ymd_opt(2026, 3, 16).unwrap();
    let first = store
        .add_requests(&[asking(p, s.id, d1)], &[], t0())
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].state, RequestState::Open);
    assert!(
        store
            .add_requests(&[asking(p, s.id, d1)], &[], t0())
            .await
            .unwrap()
            .is_empty()
    );
    let second = store
        .add_requests(&[asking(p, s.id, d2)], &[first[0].id], t0())
        .await
        .unwrap();
    assert_eq!(second[0].due_on, d2);
    let all = store.requests(p).await.unwrap();
    let states: Vec<_> = all.iter().map(|r| (r.due_on, r.state)).collect();
    assert_eq!(
        states,
        [(d1, RequestState::Expired), (d2, RequestState::Open)]
    );
    let other = add_patient(store.as_ref(), &w, "other@clinic.test").await;
    assert_not_found(store.request(other.id, second[0].id).await);
}

async fn a_response_is_stored_once_and_closes_its_questionnaire(store: Shared) {
    use stepwise_outcomes::{Instrument, score};
    let w = world(store.as_ref()).await;
    let (p, t) = (w.patient.id, w.therapist.id);
    let (s, _) = store
        .add_schedule(schedule(p, t, "s1", Timing::Start), t0())
        .await
        .unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let request = store
        .add_requests(&[asking(p, s.id, day)], &[], t0())
        .await
        .unwrap()
        .remove(0);
    let answers = psfs_answers(&[3, 5, 7]);
    let response = NewResponse {
        patient_id: p,
        request_id: request.id,
        instrument: Instrument::Psfs,
        scored: score(Instrument::Psfs, &answers).unwrap(),
        answers: answers.clone(),
        client_id: "r1".into(),
    };
    let (stored, new) = store
        .record_response(response.clone(), t0() + minutes(1))
        .await
        .unwrap();
    assert!(new);
    assert_eq!(stored.value, 5.0);
    assert_eq!(stored.raw, None);
    assert_eq!(stored.answers, answers);
    assert_eq!(
        stored.subscores[0],
        SubscoreValue {
            name: "rating_1".into(),
            value: 3.0
        }
    );
    let (again, new) = store
        .record_response(response.clone(), t0() + minutes(2))
        .await
        .unwrap();
    assert!(!new);
    assert_eq!(again, stored);
    assert_eq!(
        store.request(p, request.id).await.unwrap().state,
        RequestState::Answered
    );
    // Another client id for an answered questionnaire, or the same id for other answers.
    assert_conflict(
        store
            .record_response(
                NewResponse {
                    client_id: "r2".into(),
                    ..response.clone()
                },
                t0(),
            )
            .await,
        "already answered",
    );
    assert_conflict(
        store
            .record_response(
                NewResponse {
                    answers: psfs_answers(&[4]),
                    ..response.clone()
                },
                t0(),
            )
            .await,
        "different response",
    );
    assert_eq!(
        store.responses(p).await.unwrap(),
        std::slice::from_ref(&stored)
    );
    // A score with a raw score after one without (PostgreSQL prepares the insert once per
    // shape: a NULL raw score first must not break a float after it).
    let (koos, _) = store
        .add_schedule(
            NewSchedule {
                instrument: Instrument::KoosJr,
                ..schedule(p, t, "s2", Timing::Start)
            },
            t0(),
        )
        .await
        .unwrap();
    let asked = store
        .add_requests(
            &[NewRequest {
                instrument: Instrument::KoosJr,
                ..asking(p, koos.id, day)
            }],
            &[],
            t0(),
        )
        .await
        .unwrap()
        .remove(0);
    let mut knee = std::collections::BTreeMap::new();
    for (item, value) in stepwise_outcomes::koos_jr::ITEMS
        .iter()
        .zip([2, 2, 1, 3, 1, 2, 3])
    {
        knee.insert(
            item.link_id.to_string(),
            stepwise_outcomes::Answer::Integer(value),
        );
    }
    let (knee_stored, _) = store
        .record_response(
            NewResponse {
                patient_id: p,
                request_id: asked.id,
                instrument: Instrument::KoosJr,
                scored: score(Instrument::KoosJr, &knee).unwrap(),
                answers: knee,
                client_id: "r3".into(),
            },
            t0() + minutes(3),
        )
        .await
        .unwrap();
    assert_eq!((knee_stored.value, knee_stored.raw), (52.465, Some(14.0)));
    assert_eq!(store.responses(p).await.unwrap(), [stored, knee_stored]);
    // Another patient's questionnaire is not found.
    let other = add_patient(store.as_ref(), &w, "other@clinic.test").await;
    assert_not_found(
        store
            .record_response(
                NewResponse {
                    patient_id: other.id,
                    client_id: "r9".into(),
                    ..response
                },
                t0(),
            )
            .await,
    );
    assert!(store.responses(other.id).await.unwrap().is_empty());
}
