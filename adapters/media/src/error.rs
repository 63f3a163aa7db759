//! What the media plane answers when it refuses or fails.

/// Why the media plane refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The UDP socket could not be bound or read.
    #[error("udp: {0}")]
    Io(#[from] std::io::Error),
    /// The offer is not SDP str0m can answer: the server's own words, never
    /// the parser's (which can carry memory addresses and internals).
    #[error("bad offer: {0}")]
    BadOffer(&'static str),
    /// The offer asks for more tracks than a 1v1 call carries.
    #[error("too many tracks: {0}")]
    TooManyTracks(String),
    /// The call has ended or was never known.
    #[error("no such call")]
    NoCall,
    /// No connection has this id.
    #[error("no such media connection")]
    NotFound,
    /// The connection belongs to another credential.
    #[error("this media connection belongs to someone else")]
    NotOwner,
    /// The media thread has stopped.
    #[error("the media plane has stopped")]
    Stopped,
}

/// A refused offer: `why` for the client, the parser's detail for the log.
pub(crate) fn bad_offer(why: &'static str, detail: &dyn std::fmt::Display) -> MediaError {
    tracing::debug!(%detail, why, "offer refused");
    MediaError::BadOffer(why)
}
