//! What every instrument declares, answers as JSON, and scoring that never panics.

use std::collections::BTreeMap;

use stepwise_outcomes::{Answer, AnswerKind, Direction, Instrument, Item, check, score};

#[test]
fn names_round_trip() {
    for instrument in Instrument::ALL {
        assert_eq!(Instrument::parse(instrument.as_str()), Some(instrument));
        let json = serde_json::to_string(&instrument).unwrap();
        assert_eq!(json, format!("\"{}\"", instrument.as_str()));
    }
    assert_eq!(Instrument::parse("oswestry"), None);
    assert_eq!(Instrument::parse("PSFS"), None);
}

#[test]
fn every_instrument_declares_its_facts() {
    for instrument in Instrument::ALL {
        let licence = instrument.licence();
        assert!(licence.url.starts_with("https://"), "{instrument:?}");
        assert!(!licence.owner.is_empty() && !licence.terms.is_empty());
        assert!(!licence.notice.is_empty());
        assert!(!instrument.title().is_empty());
        assert!(!instrument.recall_period().is_empty());
        let range = instrument.range();
        assert!(range.min < range.max);
        if let Some(mid) = instrument.mid() {
            assert!(mid.value > 0.0 && mid.value < range.max - range.min);
            assert!(!mid.source.is_empty());
        }
        let items = instrument.items();
        assert!(items.iter().any(|item| item.required));
        for (i, item) in items.iter().enumerate() {
            assert!(
                items[..i].iter().all(|other| other.link_id != item.link_id),
                "{} repeats",
                item.link_id
            );
            assert_eq!(instrument.item(item.link_id), Some(item));
            if let AnswerKind::Choice(choices) = item.answer {
                assert!(!choices.is_empty());
            }
        }
    }
}

#[test]
fn both_instruments_are_better_when_higher() {
    assert_eq!(Instrument::Psfs.direction(), Direction::HigherIsBetter);
    assert_eq!(Instrument::KoosJr.direction(), Direction::HigherIsBetter);
    // No verified MID for KOOS, JR.: no change is claimed.
    assert_eq!(Instrument::KoosJr.mid(), None);
    assert_eq!(Instrument::KoosJr.change(40.0, 90.0), None);
}

#[test]
fn answers_read_from_json() {
    let answers: BTreeMap<String, Answer> =
        serde_json::from_str(r#"{"activity_1": "Climbing stairs", "rating_1": 4}"#).unwrap();
    assert_eq!(
        answers["activity_1"],
        Answer::Text("Climbing stairs".into())
    );
    assert_eq!(answers["rating_1"], Answer::Integer(4));
    assert_eq!(score(Instrument::Psfs, &answers).unwrap().value, 4.0);

    for bad in [
        r#"{"rating_1": 4.5}"#,
        r#"{"rating_1": null}"#,
        r#"{"rating_1": true}"#,
        r#"{"rating_1": [4]}"#,
        r#"{"rating_1": 1e30}"#,
        r#"{"rating_1": 18446744073709551615}"#,
    ] {
        assert!(
            serde_json::from_str::<BTreeMap<String, Answer>>(bad).is_err(),
            "{bad} read as an answer"
        );
    }
}

#[test]
fn scored_results_serialize_for_the_server() {
    let answers: BTreeMap<String, Answer> =
        serde_json::from_str(r#"{"activity_1": "Stairs", "rating_1": 4}"#).unwrap();
    let json = serde_json::to_value(score(Instrument::Psfs, &answers).unwrap()).unwrap();
    assert_eq!(json["instrument"], "psfs");
    assert_eq!(json["value"], 4.0);
    assert_eq!(json["subscores"][0]["name"], "rating_1");
}

/// A small deterministic generator, so the sweep below is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<T: Clone>(&mut self, from: &[T]) -> T {
        from[(self.next() as usize) % from.len()].clone()
    }
}

/// A valid answer to `item`, chosen by `rng`.
fn plausible(item: &Item, rng: &mut Lcg) -> Answer {
    match item.answer {
        AnswerKind::Choice(choices) => Answer::Integer(rng.pick(choices).value),
        AnswerKind::Integer { min, max, .. } => {
            Answer::Integer(min + (rng.next() % (max - min + 1) as u64) as i64)
        }
        AnswerKind::Text { .. } => Answer::Text("Walking to the shop".into()),
    }
}

#[test]
fn any_response_scores_within_range_or_names_an_item() {
    let numbers = [i64::MIN, -1, 0, 1, 4, 5, 10, 11, 28, i64::MAX];
    let texts = [
        String::new(),
        " ".into(),
        "Walking".into(),
        "é".repeat(100),
        "x".repeat(101),
        "\u{0}".into(),
    ];
    let mut rng = Lcg(7);
    for instrument in Instrument::ALL {
        let mut keys: Vec<String> = instrument
            .items()
            .iter()
            .map(|item| item.link_id.to_string())
            .collect();
        keys.extend(["", "rating_0", "activity_6", "pain", "ünïcode"].map(String::from));
        let (mut scored, mut refused) = (0, 0);
        for _ in 0..20_000 {
            // A plausible response (with or without the optional items), then up to three changes:
            // an item removed, an answer of any kind put under any key.
            let mut answers = BTreeMap::new();
            let with_optional = rng.next().is_multiple_of(2);
            for item in instrument.items() {
                if item.required || with_optional {
                    answers.insert(item.link_id.to_string(), plausible(item, &mut rng));
                }
            }
            for _ in 0..rng.next() % 4 {
                let key = rng.pick(&keys);
                match rng.next() % 3 {
                    0 => {
                        answers.remove(&key);
                    }
                    1 => {
                        answers.insert(key, Answer::Text(rng.pick(&texts)));
                    }
                    _ => {
                        answers.insert(key, Answer::Integer(rng.pick(&numbers)));
                    }
                }
            }
            let problems = check(instrument, &answers);
            match score(instrument, &answers) {
                Ok(result) => {
                    scored += 1;
                    assert!(problems.is_empty());
                    let range = instrument.range();
                    assert!(
                        (range.min..=range.max).contains(&result.value),
                        "{answers:?} scored {}",
                        result.value
                    );
                }
                Err(error) => {
                    refused += 1;
                    assert_eq!(problems.first(), Some(&error));
                    assert!(
                        answers.contains_key(error.link_id())
                            || instrument.item(error.link_id()).is_some(),
                        "{error} names no item"
                    );
                }
            }
        }
        assert!(
            scored > 1_000 && refused > 1_000,
            "{instrument:?}: {scored} scored, {refused} refused"
        );
    }
}
