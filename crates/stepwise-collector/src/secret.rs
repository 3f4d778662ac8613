//! Secrets the outbox keeps (upload tokens, band keys): never shown by `Debug` or `Display`.

use std::fmt;

/// A secret string: `Debug` prints `Secret(***)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A Huami band's 16-byte auth key: `Debug` prints `HuamiKey(***)`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HuamiKey(pub [u8; 16]);

impl fmt::Debug for HuamiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HuamiKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        assert_eq!(format!("{:?}", Secret::new("tok_abc")), "Secret(***)");
        assert_eq!(format!("{:?}", HuamiKey([7; 16])), "HuamiKey(***)");
    }
}
