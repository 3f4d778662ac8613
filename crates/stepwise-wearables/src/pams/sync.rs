//! The PAMS fetch machine: list sessions, then fetch each ended session's step-counter
//! summaries (the protocol is in the [module docs](super)).

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::control::{self, ControlPointResponse, ERROR_NO_DATA, ERROR_NO_SESSIONS, seconds};
use super::{
    CONTROL_POINT, FEATURES, Reassembler, SERVICE, SESSION_DESCRIPTOR, STEP_COUNTER_SUMMARY,
    StepCounterSummary, decode_step_counter_summary,
};
use crate::records::{Activity, MinuteRecord, spread_steps};
use crate::{DecodeError, Protocol, Request};

/// Longest session accepted: 31 days.
pub const MAX_SESSION_SECONDS: u32 = 31 * 24 * 60 * 60;

/// A session the device listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionInfo {
    /// Its id.
    pub session_id: u16,
    /// When it started.
    pub start: DateTime<Utc>,
    /// It has ended (only ended sessions' data can be fetched).
    pub ended: bool,
}

/// What the fetch reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Every (not deleted) session the device listed.
    Sessions(Vec<SessionInfo>),
    /// One ended session's data.
    Session {
        /// The session.
        info: SessionInfo,
        /// Steps per minute of the session, from its summaries, oldest first.
        records: Vec<MinuteRecord>,
    },
    /// Done.
    Finished {
        /// Sessions fetched.
        sessions: u32,
        /// Where the next fetch starts: a second after the latest session's start, `None`
        /// when no session was fetched. Store it only once every session is stored: an
        /// interrupted fetch then starts over (the sessions are stored by upsert).
        next_since: Option<DateTime<Utc>>,
    },
}

/// Why a fetch stopped. After an error the machine is finished; sessions already reported
/// stay valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A value could not be decoded.
    #[error("the device sent something that could not be decoded: {0}")]
    Decode(#[from] DecodeError),
    /// The device answered a control point request with an error.
    #[error(
        "the device refused control point request {op:#04x} (error {result:#04x}); sync again \
         later"
    )]
    ControlPoint {
        /// The request's op code.
        op: u8,
        /// The device's error code.
        result: u8,
    },
    /// A message that makes no sense in this state.
    #[error("unexpected message from the device: {what}")]
    Unexpected {
        /// What arrived, and when.
        what: String,
    },
    /// A summary record was skipped.
    #[error(
        "a step summary was lost (expected record {expected}, got {got}): nothing from this \
         session was kept; sync again"
    )]
    SequenceGap {
        /// The sequence number due.
        expected: u32,
        /// The sequence number received.
        got: u32,
    },
    /// The device announced a different number of items than it sent.
    #[error("the device announced {expected} {what} but sent {got}; sync again")]
    CountMismatch {
        /// What was counted.
        what: &'static str,
        /// The announced count.
        expected: u32,
        /// What arrived.
        got: u32,
    },
}

#[derive(Debug)]
struct Fetch {
    info: SessionInfo,
    reassembler: Reassembler,
    summaries: Vec<StepCounterSummary>,
}

#[derive(Debug)]
enum State {
    ReadingFeatures,
    Listing {
        sessions: Vec<SessionInfo>,
        descriptors: u32,
    },
    Fetching(Fetch),
    Done,
}

impl State {
    fn describe(&self) -> &'static str {
        match self {
            State::ReadingFeatures => "reading the features",
            State::Listing { .. } => "listing sessions",
            State::Fetching(_) => "fetching a session",
            State::Done => "after the fetch finished",
        }
    }
}

/// Fetch of every ended session's step-counter data, sans IO, driven like
/// [`huami::Sync`](crate::huami::Sync): poll_request / handle_notification (indications) /
/// handle_read / poll_event / is_finished. Sessions that started before `since` are skipped.
#[derive(Debug)]
pub struct Sync {
    since: DateTime<Utc>,
    state: State,
    requests: VecDeque<Request>,
    events: VecDeque<Event>,
    /// Sessions still to fetch, oldest first.
    queue: VecDeque<SessionInfo>,
    fetched: u32,
    latest: Option<DateTime<Utc>>,
    features: Option<u32>,
}

impl Sync {
    /// A fetch of the sessions that started at or after `since`; its first request (reading
    /// the features) is ready at once.
    pub fn new(since: DateTime<Utc>) -> Self {
        Sync {
            since,
            state: State::ReadingFeatures,
            requests: VecDeque::from([Request::Read {
                service: SERVICE,
                characteristic: FEATURES,
            }]),
            events: VecDeque::new(),
            queue: VecDeque::new(),
            fetched: 0,
            latest: None,
            features: None,
        }
    }

    /// The device's feature bits, once read.
    pub fn features(&self) -> Option<u32> {
        self.features
    }

    fn fail_on_error(&mut self, result: Result<(), Error>) -> Result<(), Error> {
        if result.is_err() {
            self.state = State::Done;
            self.requests.clear();
        }
        result
    }

    fn features_read(&mut self, value: &[u8]) -> Result<(), Error> {
        const WHAT: &str = "PAMS features";
        if value.len() > 8 {
            return Err(DecodeError::TooLong {
                what: WHAT,
                max: 8,
                got: value.len(),
            }
            .into());
        }
        let bits = value.get(..4).ok_or(DecodeError::Truncated {
            what: WHAT,
            expected: 4,
            got: value.len(),
        })?;
        let mut word = [0u8; 4];
        word.copy_from_slice(bits);
        self.features = Some(u32::from_le_bytes(word));
        for characteristic in [CONTROL_POINT, SESSION_DESCRIPTOR, STEP_COUNTER_SUMMARY] {
            self.requests.push_back(Request::Subscribe {
                service: SERVICE,
                characteristic,
            });
        }
        self.write(control::ENQUIRE_SESSIONS.to_vec());
        self.state = State::Listing {
            sessions: Vec::new(),
            descriptors: 0,
        };
        Ok(())
    }

    fn handle(&mut self, characteristic: Uuid, value: &[u8]) -> Result<(), Error> {
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, characteristic) {
            (
                State::Listing {
                    mut sessions,
                    descriptors,
                },
                SESSION_DESCRIPTOR,
            ) => {
                let d = control::decode_session_descriptor(value)?;
                if d.sub_session_id.is_none() && !d.deleted {
                    sessions.push(SessionInfo {
                        session_id: d.session_id,
                        start: d.start,
                        ended: d.end.is_some(),
                    });
                }
                self.state = State::Listing {
                    sessions,
                    descriptors: descriptors.saturating_add(1),
                };
                Ok(())
            }
            (
                State::Listing {
                    sessions,
                    descriptors,
                },
                CONTROL_POINT,
            ) => match control::decode_control_point_response(value)? {
                ControlPointResponse::SessionsListed { count } => {
                    if u32::from(count) != descriptors {
                        return Err(Error::CountMismatch {
                            what: "session descriptors",
                            expected: u32::from(count),
                            got: descriptors,
                        });
                    }
                    self.listed(sessions);
                    Ok(())
                }
                ControlPointResponse::SessionsFailed {
                    error: ERROR_NO_SESSIONS,
                } => {
                    self.listed(Vec::new());
                    Ok(())
                }
                ControlPointResponse::SessionsFailed { error } => Err(Error::ControlPoint {
                    op: control::ENQUIRE_SESSIONS[0],
                    result: error,
                }),
                other => Err(Error::Unexpected {
                    what: format!("control point response {other:?} while listing sessions"),
                }),
            },
            (State::Fetching(mut fetch), STEP_COUNTER_SUMMARY) => {
                if let Some(record) = fetch.reassembler.push(value)? {
                    let summary = decode_step_counter_summary(&record)?;
                    check_summary(&fetch, &summary)?;
                    fetch.summaries.push(summary);
                }
                self.state = State::Fetching(fetch);
                Ok(())
            }
            (State::Fetching(fetch), CONTROL_POINT) => {
                match control::decode_control_point_response(value)? {
                    ControlPointResponse::DataSent { count } => {
                        if fetch.reassembler.is_partial() {
                            return Err(DecodeError::invalid(
                                "PAMS step counter summary",
                                "the last record was cut off (its last segment never came)",
                            )
                            .into());
                        }
                        let got = u32::try_from(fetch.summaries.len()).unwrap_or(u32::MAX);
                        if got != count {
                            return Err(Error::CountMismatch {
                                what: "step summaries",
                                expected: count,
                                got,
                            });
                        }
                        let records = minute_records(fetch.info.start, &fetch.summaries)?;
                        self.session_done(fetch.info, records);
                        Ok(())
                    }
                    ControlPointResponse::DataFailed {
                        error: ERROR_NO_DATA,
                    } if fetch.summaries.is_empty() && !fetch.reassembler.is_partial() => {
                        self.session_done(fetch.info, Vec::new());
                        Ok(())
                    }
                    ControlPointResponse::DataFailed { error } => Err(Error::ControlPoint {
                        op: control::encode_get_ended_session_data(0)[0],
                        result: error,
                    }),
                    other => Err(Error::Unexpected {
                        what: format!("control point response {other:?} while fetching a session"),
                    }),
                }
            }
            (state, characteristic) => {
                Err(unexpected("an indication", characteristic, value, &state))
            }
        }
    }

    /// The listing is complete: report it, then fetch the wanted sessions oldest first.
    fn listed(&mut self, sessions: Vec<SessionInfo>) {
        let mut wanted: Vec<SessionInfo> = sessions
            .iter()
            .filter(|s| s.ended && s.start >= self.since)
            .copied()
            .collect();
        wanted.sort_by_key(|s| (s.start, s.session_id));
        self.queue = wanted.into();
        self.events.push_back(Event::Sessions(sessions));
        self.next_session();
    }

    fn session_done(&mut self, info: SessionInfo, records: Vec<MinuteRecord>) {
        self.fetched += 1;
        self.latest = self.latest.max(Some(info.start));
        self.events.push_back(Event::Session { info, records });
        self.next_session();
    }

    fn next_session(&mut self) {
        match self.queue.pop_front() {
            Some(info) => {
                self.write(control::encode_get_ended_session_data(info.session_id).to_vec());
                self.state = State::Fetching(Fetch {
                    info,
                    reassembler: Reassembler::new(),
                    summaries: Vec::new(),
                });
            }
            None => {
                self.events.push_back(Event::Finished {
                    sessions: self.fetched,
                    next_since: self.latest.map(|t| t + chrono::TimeDelta::seconds(1)),
                });
                self.state = State::Done;
            }
        }
    }

    fn write(&mut self, value: Vec<u8>) {
        self.requests.push_back(Request::Write {
            service: SERVICE,
            characteristic: CONTROL_POINT,
            value,
            with_response: true,
        });
    }
}

/// A summary must belong to the session asked for, come next in sequence, and not go back in
/// time or past [`MAX_SESSION_SECONDS`].
fn check_summary(fetch: &Fetch, summary: &StepCounterSummary) -> Result<(), Error> {
    const WHAT: &str = "PAMS step counter summary";
    if summary.session_id != fetch.info.session_id {
        return Err(Error::Unexpected {
            what: format!(
                "a summary of session {} while fetching session {}",
                summary.session_id, fetch.info.session_id
            ),
        });
    }
    let expected = u32::try_from(fetch.summaries.len()).unwrap_or(u32::MAX);
    if summary.sequence != expected {
        return Err(Error::SequenceGap {
            expected,
            got: summary.sequence,
        });
    }
    let previous = fetch.summaries.last().map_or(0, |s| s.relative_time_s);
    if summary.relative_time_s < previous {
        return Err(DecodeError::invalid(
            WHAT,
            format!(
                "relative time went back from {previous} s to {} s",
                summary.relative_time_s
            ),
        )
        .into());
    }
    if summary.relative_time_s > MAX_SESSION_SECONDS {
        return Err(DecodeError::invalid(
            WHAT,
            format!(
                "relative time {} s is past the longest session accepted ({MAX_SESSION_SECONDS} s)",
                summary.relative_time_s
            ),
        )
        .into());
    }
    Ok(())
}

/// Every minute of the session with its steps: each summary's steps spread evenly over the
/// minutes of its interval.
fn minute_records(
    start: DateTime<Utc>,
    summaries: &[StepCounterSummary],
) -> Result<Vec<MinuteRecord>, Error> {
    let at = |s: u32| {
        start.checked_add_signed(seconds(s)).ok_or_else(|| {
            Error::Decode(DecodeError::invalid(
                "PAMS step counter summary",
                "relative time out of range",
            ))
        })
    };
    let mut minutes: BTreeMap<DateTime<Utc>, u32> = BTreeMap::new();
    let mut previous = 0;
    for summary in summaries {
        let (since, until) = (at(previous)?, at(summary.relative_time_s)?);
        for (minute, steps) in spread_steps(since, until, summary.total_steps()) {
            let entry = minutes.entry(minute).or_default();
            *entry = entry.saturating_add(steps);
        }
        previous = summary.relative_time_s;
    }
    Ok(minutes
        .into_iter()
        .map(|(minute, steps)| MinuteRecord {
            minute,
            steps: u16::try_from(steps).unwrap_or(u16::MAX),
            heart_rate: None,
            activity: if steps > 0 {
                Activity::Walking
            } else {
                Activity::Other
            },
        })
        .collect())
}

fn unexpected(kind: &str, characteristic: Uuid, value: &[u8], state: &State) -> Error {
    let shown = value.get(..20).unwrap_or(value);
    let more = if value.len() > shown.len() {
        " …"
    } else {
        ""
    };
    Error::Unexpected {
        what: format!(
            "{kind} from {characteristic} {shown:02x?}{more} ({} bytes) while {}",
            value.len(),
            state.describe()
        ),
    }
}

impl Protocol for Sync {
    type Event = Event;
    type Error = Error;

    /// The next thing to do over the air, if any.
    fn poll_request(&mut self) -> Option<Request> {
        self.requests.pop_front()
    }

    /// Feeds an indication (or notification) from the device. An error ends the fetch; the
    /// session being fetched is dropped.
    fn handle_notification(&mut self, characteristic: Uuid, value: &[u8]) -> Result<(), Error> {
        let result = self.handle(characteristic, value);
        self.fail_on_error(result)
    }

    /// Feeds the value of a [`Request::Read`]. An error ends the fetch.
    fn handle_read(&mut self, characteristic: Uuid, value: &[u8]) -> Result<(), Error> {
        let result = match (&self.state, characteristic) {
            (State::ReadingFeatures, FEATURES) => self.features_read(value),
            (state, _) => Err(unexpected("a read value", characteristic, value, state)),
        };
        self.fail_on_error(result)
    }

    /// The next event, if any.
    fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// True once the fetch has finished (after [`Event::Finished`] or an error).
    fn is_finished(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

#[cfg(test)]
mod tests;
