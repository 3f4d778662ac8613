//! Contract version 2 keeps version 1's promise: every valid version-1 input gives exactly the
//! same output. 600 version-1 inputs with the outputs the version-1 engine gave
//! (`tests/fixtures/engine/v1-corpus.jsonl`, see the README beside it) are replayed and compared
//! whole: decision, interval, change, and every reason's code and message.

use std::path::Path;

use serde_json::Value;
use stepwise_engine::ReviewInput;

#[test]
fn every_version_1_input_gives_the_version_1_output() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/engine/v1-corpus.jsonl");
    let corpus = std::fs::read_to_string(&path).expect("the version-1 corpus");
    let mut replayed = 0;
    for (line, text) in corpus.lines().enumerate() {
        let case: Value = serde_json::from_str(text).expect("a corpus line");
        let input = ReviewInput::from_json(&case["input"].to_string())
            .unwrap_or_else(|e| panic!("line {}: {e}", line + 1));
        let output = serde_json::to_value(input.review().expect("a valid input")).unwrap();
        assert_eq!(
            output,
            case["output"],
            "line {}: {}",
            line + 1,
            case["input"]
        );
        replayed += 1;
    }
    assert_eq!(replayed, 600);
}
