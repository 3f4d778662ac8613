//! Weekly reviews per second for a five-session week (`cargo bench -p stepwise-engine`).

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use stepwise_engine::{Decision, Plan, Rules, SessionReport, WeekEvidence, review};

fn five_session_week() -> WeekEvidence {
    let sessions = (0..5)
        .map(|i| SessionReport {
            day: NaiveDate::from_ymd_opt(2026, 11, 16 + i).unwrap(),
            walked_s: 1200,
            pain_before: Some(2),
            pain_during_max: Some(4),
            pain_after_2h: Some(3),
            pain_next_morning: None,
            effort: Some(5),
            verified: Some(true),
        })
        .collect();
    WeekEvidence {
        sessions,
        flares: Vec::new(),
    }
}

fn bench(c: &mut Criterion) {
    let rules = Rules::default();
    let plan = Plan {
        interval_s: 600,
        sessions_per_week: 5,
        ..Plan::default()
    };
    let week = five_session_week();
    let history = [Decision::Advance, Decision::Hold];
    let mut group = c.benchmark_group("weekly_reviews_per_second");
    group.throughput(Throughput::Elements(1));
    group.bench_function("five_session_week", |b| {
        b.iter(|| {
            review(
                black_box(&rules),
                black_box(&plan),
                black_box(&week),
                &history,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
