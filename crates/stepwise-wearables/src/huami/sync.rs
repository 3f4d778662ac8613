//! The Huami sync machine: authentication, then fetch rounds until the band is caught up.
//! The wire protocol is in the [module docs](super).

use std::collections::VecDeque;

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit};
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::wire;
use super::{ACTIVITY_DATA, AUTH, CURRENT_TIME, Config, FETCH_CONTROL, SERVICE_FEE0, SERVICE_FEE1};
use crate::records::{Activity, MinuteRecord, whole_minute};
use crate::{DecodeError, Protocol, Request};

/// Most bytes in one activity-data notification (counter byte included): the largest ATT
/// MTU, 517, less the 3-byte notification header.
pub const MAX_NOTIFICATION: usize = 514;

/// What the sync reports to the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The band accepted the key.
    Authenticated,
    /// A round with data began: the band's first minute and how many minutes it will send.
    RoundStarted {
        /// The first record's minute, in UTC.
        from: DateTime<Utc>,
        /// Minute samples the band announced.
        samples: u32,
    },
    /// Activity data arrived.
    Progress {
        /// Whole minute records received in this round so far.
        received: u32,
        /// Minute samples the band announced for this round.
        samples: u32,
    },
    /// A complete, checked round. Store `records` and move the cursor to `next_since` in one
    /// transaction; the machine carries on from `next_since` by itself.
    Batch {
        /// The round's minutes, oldest first; minutes before the round's requested start
        /// (already delivered) are left out.
        records: Vec<MinuteRecord>,
        /// The minute after the last record: where the next sync starts.
        next_since: DateTime<Utc>,
    },
    /// Done: `caught_up` is false when `max_rounds` ran out first or the band declined to
    /// send more (`10 01 02` twice, or `10 02 04`): sync again to continue.
    Finished {
        /// The band said it has nothing newer.
        caught_up: bool,
        /// Fetch requests written in this sync (including the last, empty one).
        rounds: u32,
    },
}

/// Why a sync stopped. After an error the machine is finished; batches already reported stay
/// valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The band rejected the authentication.
    #[error(
        "wrong key: the band refused the auth key; check it (32 hex digits; Mi Band 4 and \
         later only accept the key they already hold)"
    )]
    WrongKey,
    /// A rolling counter value was skipped.
    #[error(
        "a data packet was lost (expected packet {expected}, got {got}): nothing from this \
         round was kept; sync again"
    )]
    CounterGap {
        /// The counter value due.
        expected: u8,
        /// The counter value received.
        got: u8,
    },
    /// The band sent a different number of bytes than it announced.
    #[error(
        "the band announced {samples} minutes ({expected} bytes) of data but sent {got} bytes: \
         nothing from this round was kept; sync again"
    )]
    LengthMismatch {
        /// Minute samples announced.
        samples: u32,
        /// Bytes announced: samples × record size.
        expected: u64,
        /// Bytes received (so far, when too many).
        got: u64,
    },
    /// A value could not be decoded.
    #[error("the band sent something that could not be decoded: {0}")]
    Decode(#[from] DecodeError),
    /// A notification that makes no sense in this state.
    #[error("unexpected message from the band: {what}")]
    Unexpected {
        /// What arrived, and when.
        what: String,
    },
    /// A round ended no later than it was asked to start, so the next round would fetch the
    /// same data again.
    #[error(
        "the band answered a fetch from {asked} with data ending at {until}: no progress, \
         stopping rather than fetching the same data again"
    )]
    NoProgress {
        /// Where the round was asked to start.
        asked: DateTime<Utc>,
        /// The minute after the band's last record.
        until: DateTime<Utc>,
    },
}

/// Data of the round being received.
#[derive(Debug)]
struct Round {
    /// Where it was asked to start.
    asked: DateTime<Utc>,
    /// The band's first minute.
    start: DateTime<Utc>,
    /// Minute samples announced.
    samples: u32,
    /// Bytes announced: samples × record size.
    expected: u64,
    data: Vec<u8>,
    next_counter: u8,
}

#[derive(Debug)]
enum State {
    SettingKey,
    AwaitingRandom,
    AwaitingAuthResult,
    AwaitingFetchAnswer {
        asked: DateTime<Utc>,
        /// The band already answered `10 01 02` to this minute once.
        retried: bool,
    },
    Receiving(Round),
    Done,
}

impl State {
    fn describe(&self) -> &'static str {
        match self {
            State::SettingKey => "waiting for the band to store the key",
            State::AwaitingRandom => "waiting for the authentication challenge",
            State::AwaitingAuthResult => "waiting for the authentication result",
            State::AwaitingFetchAnswer { .. } => "waiting for the answer to a fetch request",
            State::Receiving(_) => "receiving activity data",
            State::Done => "after the sync finished",
        }
    }
}

/// The sync, sans IO. Drive it: loop { while let Some(r) = poll_request() { do r }; while let
/// Some(e) = poll_event() {..}; if finished break; wait for a notification →
/// handle_notification }.
#[derive(Debug)]
pub struct Sync {
    config: Config,
    state: State,
    requests: VecDeque<Request>,
    events: VecDeque<Event>,
    /// Fetch requests written.
    rounds: u32,
    data_notifications: u64,
    /// Where the next round starts.
    cursor: DateTime<Utc>,
    /// The end of the last round and its last minute's kind-derived activity, so that
    /// "same as before" at the start of a contiguous next round means something.
    carry: Option<(DateTime<Utc>, Activity)>,
}

impl Sync {
    /// A sync in `state` with nothing requested yet, its cursor at `config.since`.
    fn idle(config: Config, state: State) -> Sync {
        Sync {
            cursor: whole_minute(config.since),
            state,
            requests: VecDeque::new(),
            events: VecDeque::new(),
            rounds: 0,
            data_notifications: 0,
            carry: None,
            config,
        }
    }

    /// A sync with `config`; its first requests are ready at once.
    pub fn new(config: Config) -> Sync {
        let mut sync = Sync::idle(config, State::AwaitingRandom);
        sync.requests.push_back(Request::Subscribe {
            service: SERVICE_FEE1,
            characteristic: AUTH,
        });
        if sync.config.set_key {
            let (_, auth) = sync.config.model.auth_flags();
            let mut value = vec![0x01, auth];
            value.extend_from_slice(&sync.config.key);
            sync.command(SERVICE_FEE1, AUTH, value);
            sync.state = State::SettingKey;
        } else {
            sync.ask_for_challenge();
        }
        sync
    }

    /// A sync that starts already authenticated (the band accepted the key on this link
    /// before): it subscribes and writes its first fetch request at once. For replaying
    /// recordings that hold only a fetch.
    pub fn authenticated(config: Config) -> Sync {
        let mut sync = Sync::idle(config, State::Done);
        for characteristic in [FETCH_CONTROL, ACTIVITY_DATA] {
            sync.requests.push_back(Request::Subscribe {
                service: SERVICE_FEE0,
                characteristic,
            });
        }
        sync.next_round_or_finish();
        sync
    }

    /// True between a fetch answer announcing data and the end of that round.
    pub fn round_in_progress(&self) -> bool {
        matches!(self.state, State::Receiving(_))
    }

    /// The whole records of the round being received, decoded (none between rounds). They
    /// are not a batch: the round may still fail; a replay lists them as incomplete.
    pub fn partial_records(&self) -> Vec<MinuteRecord> {
        let State::Receiving(round) = &self.state else {
            return Vec::new();
        };
        let size = self.config.model.record_size();
        let whole = round.data.len() / size * size;
        wire::decode_records(
            self.config.model,
            round.start,
            round.data.get(..whole).unwrap_or(&[]),
        )
        .unwrap_or_default()
    }

    /// Notifications of activity data handled so far (for progress).
    pub fn data_notifications(&self) -> u64 {
        self.data_notifications
    }

    fn handle(&mut self, characteristic: Uuid, value: &[u8]) -> Result<(), Error> {
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, characteristic) {
            (State::SettingKey, AUTH) => match value {
                [0x10, 0x01, 0x01] => {
                    self.ask_for_challenge();
                    self.state = State::AwaitingRandom;
                    Ok(())
                }
                [0x10, 0x01, status] => Err(Error::Unexpected {
                    what: format!("the band refused to store the new key (status {status:#04x})"),
                }),
                _ => Err(unexpected(
                    "auth",
                    value,
                    "waiting for the band to store the key",
                )),
            },
            (State::AwaitingRandom, AUTH) => {
                let (crypt, auth) = self.config.model.auth_flags();
                let random = challenge(value, crypt | 0x02)?;
                let mut answer = vec![crypt | 0x03, auth];
                answer.extend_from_slice(&encrypt(&self.config.key, random));
                self.command(SERVICE_FEE1, AUTH, answer);
                self.state = State::AwaitingAuthResult;
                Ok(())
            }
            (State::AwaitingAuthResult, AUTH) => {
                let result = self.config.model.auth_flags().0 | 0x03;
                match value {
                    [0x10, op, 0x01] if *op == result => {
                        self.events.push_back(Event::Authenticated);
                        if let Some(now) = self.config.clock {
                            self.requests.push_back(Request::Write {
                                service: SERVICE_FEE0,
                                characteristic: CURRENT_TIME,
                                value: wire::encode_current_time(now, self.config.zone).to_vec(),
                                with_response: true,
                            });
                        }
                        for characteristic in [FETCH_CONTROL, ACTIVITY_DATA] {
                            self.requests.push_back(Request::Subscribe {
                                service: SERVICE_FEE0,
                                characteristic,
                            });
                        }
                        self.next_round_or_finish();
                        Ok(())
                    }
                    [0x10, op, 0x04 | 0x08] if *op == result => Err(Error::WrongKey),
                    _ => Err(unexpected(
                        "auth",
                        value,
                        "waiting for the authentication result",
                    )),
                }
            }
            (State::AwaitingFetchAnswer { asked, retried }, FETCH_CONTROL) => {
                if value == [0x10, 0x01, 0x02] {
                    // Nothing for this request now: ask once more, then give up for this sync.
                    if retried || self.rounds >= self.config.max_rounds {
                        self.finish(false);
                    } else {
                        self.rounds += 1;
                        self.request_round(true);
                    }
                    return Ok(());
                }
                let answer = wire::decode_fetch_answer(value)?;
                if answer.samples == 0 {
                    self.finish(true);
                    return Ok(());
                }
                let size = self.config.model.record_size() as u64;
                let expected = u64::from(answer.samples) * size;
                self.events.push_back(Event::RoundStarted {
                    from: answer.start,
                    samples: answer.samples,
                });
                self.command(SERVICE_FEE0, FETCH_CONTROL, vec![0x02]);
                self.state = State::Receiving(Round {
                    asked,
                    start: answer.start,
                    samples: answer.samples,
                    expected,
                    data: Vec::new(),
                    next_counter: 0,
                });
                Ok(())
            }
            (State::Receiving(mut round), ACTIVITY_DATA) => {
                self.receive(&mut round, value)?;
                self.state = State::Receiving(round);
                Ok(())
            }
            (State::Receiving(round), FETCH_CONTROL) => match value {
                [0x10, 0x02, 0x01] => self.end_round(round),
                [0x10, 0x02, 0x04] => {
                    // "No more activity fetch possible": the round is dropped whole.
                    self.finish(false);
                    Ok(())
                }
                _ => Err(unexpected(
                    "fetch control",
                    value,
                    "receiving activity data",
                )),
            },
            (state, characteristic) => {
                let name = match characteristic {
                    AUTH => "auth",
                    FETCH_CONTROL => "fetch control",
                    ACTIVITY_DATA => "activity data",
                    _ => "unknown characteristic",
                };
                Err(unexpected(name, value, state.describe()))
            }
        }
    }

    /// One activity-data notification: counter check, then the payload.
    fn receive(&mut self, round: &mut Round, value: &[u8]) -> Result<(), Error> {
        const WHAT: &str = "Huami activity data notification";
        let (&counter, payload) = value.split_first().ok_or(DecodeError::Truncated {
            what: WHAT,
            expected: 1,
            got: 0,
        })?;
        if value.len() > MAX_NOTIFICATION {
            return Err(DecodeError::TooLong {
                what: WHAT,
                max: MAX_NOTIFICATION,
                got: value.len(),
            }
            .into());
        }
        if counter != round.next_counter {
            return Err(Error::CounterGap {
                expected: round.next_counter,
                got: counter,
            });
        }
        round.next_counter = round.next_counter.wrapping_add(1);
        self.data_notifications += 1;
        let received = round.data.len().saturating_add(payload.len()) as u64;
        if received > round.expected {
            return Err(Error::LengthMismatch {
                samples: round.samples,
                expected: round.expected,
                got: received,
            });
        }
        round.data.extend_from_slice(payload);
        let size = self.config.model.record_size() as u64;
        self.events.push_back(Event::Progress {
            received: u32::try_from(received / size).unwrap_or(u32::MAX),
            samples: round.samples,
        });
        Ok(())
    }

    /// The band's end-of-data: check, decode and report the round, then the next one.
    fn end_round(&mut self, round: Round) -> Result<(), Error> {
        let got = round.data.len() as u64;
        if got != round.expected {
            return Err(Error::LengthMismatch {
                samples: round.samples,
                expected: round.expected,
                got,
            });
        }
        let previous = self
            .carry
            .filter(|(end, _)| *end == round.start)
            .map(|(_, activity)| activity);
        let (mut records, last_activity) =
            wire::decode_records_after(self.config.model, round.start, previous, &round.data)?;
        let until = records
            .last()
            .and_then(|r| r.minute.checked_add_signed(TimeDelta::minutes(1)))
            .ok_or_else(|| {
                Error::Decode(DecodeError::invalid(
                    "Huami minute records",
                    "the last minute is out of range",
                ))
            })?;
        if until <= round.asked {
            return Err(Error::NoProgress {
                asked: round.asked,
                until,
            });
        }
        records.retain(|r| r.minute >= round.asked);
        self.carry = last_activity.map(|a| (until, a));
        self.cursor = until;
        self.events.push_back(Event::Batch {
            records,
            next_since: until,
        });
        if !self.config.keep_on_band {
            self.command(SERVICE_FEE0, FETCH_CONTROL, vec![0x03]);
        }
        self.next_round_or_finish();
        Ok(())
    }

    /// Asks for the next round from the cursor, unless `max_rounds` are used up.
    fn next_round_or_finish(&mut self) {
        if self.rounds >= self.config.max_rounds {
            self.finish(false);
            return;
        }
        self.rounds += 1;
        self.request_round(false);
    }

    /// Writes a fetch request from the cursor.
    fn request_round(&mut self, retried: bool) {
        let request = wire::encode_fetch_start(self.cursor, self.config.zone);
        self.command(SERVICE_FEE0, FETCH_CONTROL, request.to_vec());
        self.state = State::AwaitingFetchAnswer {
            asked: self.cursor,
            retried,
        };
    }

    /// Asks for the authentication challenge, in the model's flavour.
    fn ask_for_challenge(&mut self) {
        let value = match self.config.model.auth_flags() {
            (0, auth) => vec![0x02, auth],
            (crypt, auth) => vec![crypt | 0x02, auth, 0x02, 0x01, 0x00],
        };
        self.command(SERVICE_FEE1, AUTH, value);
    }

    fn finish(&mut self, caught_up: bool) {
        self.events.push_back(Event::Finished {
            caught_up,
            rounds: self.rounds,
        });
        self.state = State::Done;
    }

    /// A write command (without response): how the bands declare AUTH and FETCH_CONTROL.
    fn command(&mut self, service: Uuid, characteristic: Uuid, value: Vec<u8>) {
        self.requests.push_back(Request::Write {
            service,
            characteristic,
            value,
            with_response: false,
        });
    }
}

impl Protocol for Sync {
    type Event = Event;
    type Error = Error;

    /// The next thing to do over the air, if any.
    fn poll_request(&mut self) -> Option<Request> {
        self.requests.pop_front()
    }

    /// Feeds a notification from the band. An error ends the sync: nothing more is
    /// requested, and the round in progress is dropped.
    fn handle_notification(&mut self, characteristic: Uuid, value: &[u8]) -> Result<(), Error> {
        let result = self.handle(characteristic, value);
        if result.is_err() {
            self.state = State::Done;
            self.requests.clear();
        }
        result
    }

    /// Huami machines never ask for a read: any read value is unexpected.
    fn handle_read(&mut self, characteristic: Uuid, _value: &[u8]) -> Result<(), Error> {
        Err(Error::Unexpected {
            what: format!("a read of {characteristic}"),
        })
    }

    /// The next event, if any.
    fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// True once the sync has finished (after [`Event::Finished`] or an error).
    fn is_finished(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

/// The 16 random bytes of `10 <op> 01 <random>`, `op` being `<crypt|02>`.
fn challenge(value: &[u8], op: u8) -> Result<[u8; 16], Error> {
    const WHAT: &str = "Huami auth challenge";
    match value {
        [0x10, o, 0x01, random @ ..] if *o == op => {
            DecodeError::check_len(WHAT, value, 19)?;
            let mut out = [0u8; 16];
            out.copy_from_slice(random.get(..16).unwrap_or(&[0; 16]));
            Ok(out)
        }
        [0x10, o, status, ..] if *o == op => Err(Error::Unexpected {
            what: format!("the band refused the authentication request (status {status:#04x})"),
        }),
        _ => Err(unexpected(
            "auth",
            value,
            "waiting for the authentication challenge",
        )),
    }
}

/// AES-128-ECB of one block.
fn encrypt(key: &[u8; 16], block: [u8; 16]) -> [u8; 16] {
    let cipher = Aes128::new(&aes::cipher::Key::<Aes128>::from(*key));
    let mut block = aes::Block::from(block);
    cipher.encrypt_block(&mut block);
    block.into()
}

fn unexpected(characteristic: &str, value: &[u8], state: &str) -> Error {
    let shown = value.get(..20).unwrap_or(value);
    let more = if value.len() > shown.len() {
        " …"
    } else {
        ""
    };
    Error::Unexpected {
        what: format!(
            "{characteristic} notification {shown:02x?}{more} ({} bytes) while {state}",
            value.len()
        ),
    }
}

#[cfg(test)]
mod tests;
