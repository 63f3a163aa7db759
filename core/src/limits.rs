//! What the core accepts of a client's text: the longest names and texts,
//! and the checks every command's fields go through. A leaf: sessions,
//! agents, workgroups and the bot all check with it and it knows none of them.

use crate::CoreError;

/// Longest name or title the core accepts, in characters.
pub const NAME_MAX: usize = 256;
/// Longest description or comment the core accepts, in characters.
pub const TEXT_MAX: usize = 4096;

/// Whether `text` is longer than `max` characters. Limits count characters,
/// as the API schema's `maxLength` does, so that a Chinese name may be as
/// long as an English one.
pub fn too_long(text: &str, max: usize) -> bool {
    // Four bytes or fewer per character: short texts need no counting.
    text.len() > max && text.chars().count() > max
}

/// Checks a text field's presence and length.
pub(crate) fn check_text(
    field: &'static str,
    value: Option<&str>,
    required: bool,
    max: usize,
) -> Result<(), CoreError> {
    match value {
        None if required => Err(CoreError::InvalidInput {
            field,
            reason: "is required",
        }),
        Some(v) if required && v.trim().is_empty() => Err(CoreError::InvalidInput {
            field,
            reason: "must not be empty",
        }),
        Some(v) if too_long(v, max) => Err(CoreError::InvalidInput {
            field,
            reason: "is too long",
        }),
        _ => Ok(()),
    }
}

/// Refuses an id that is not [`crate::is_name`]: every id a client chooses
/// must be addressable as an HTTP path parameter, which takes only that shape.
pub(crate) fn check_id(field: &'static str, id: &str) -> Result<(), CoreError> {
    if crate::ids::is_name(id) {
        Ok(())
    } else {
        Err(CoreError::InvalidInput {
            field,
            reason: "must be 1-64 letters, digits, _ - . @ (not starting with .)",
        })
    }
}
