//! Names and codes stored in the database: source bits, enum spellings, event kind names, and
//! the phone-number comparison key.

use crate::model::{CallEventKind, Direction, Source, UnparkKind};

/// The bit of a source in `call.sources`.
pub(crate) fn source_bit(s: Source) -> i64 {
    match s {
        Source::Era => 1,
        Source::Telphin => 2,
        Source::Webhook => 4,
        Source::CallInteractive => 8,
    }
}

const ALL_SOURCES: [Source; 4] = [
    Source::Era,
    Source::Telphin,
    Source::Webhook,
    Source::CallInteractive,
];

pub(crate) fn sources_from_bits(bits: i64) -> Vec<Source> {
    ALL_SOURCES
        .into_iter()
        .filter(|s| bits & source_bit(*s) != 0)
        .collect()
}

pub(crate) fn parse_source(s: &str) -> Option<Source> {
    ALL_SOURCES.into_iter().find(|x| x.as_str() == s)
}

pub(crate) fn parse_direction(s: &str) -> Option<Direction> {
    [Direction::Inbound, Direction::Outbound, Direction::Internal]
        .into_iter()
        .find(|d| d.as_str() == s)
}

pub(crate) fn parse_unpark(s: &str) -> Option<UnparkKind> {
    match s {
        "bridged" => Some(UnparkKind::Bridged),
        "returned" => Some(UnparkKind::Returned),
        "hung_up" => Some(UnparkKind::HungUp),
        _ => None,
    }
}

pub(crate) fn unpark_str(k: UnparkKind) -> &'static str {
    match k {
        UnparkKind::Bridged => "bridged",
        UnparkKind::Returned => "returned",
        UnparkKind::HungUp => "hung_up",
    }
}

/// The comparison key of a phone number: its digits, the last 10 when longer (so
/// `+7 958 241-21-28`, `89582412128` and `9582412128` agree). `None` without digits.
pub fn number_key(number: &str) -> Option<String> {
    let digits: Vec<char> = number.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    let start = digits.len().saturating_sub(10);
    Some(digits[start..].iter().collect())
}

/// The name of an event kind, as stored in `event.kind`.
pub(crate) fn kind_name(k: &CallEventKind) -> &'static str {
    match k {
        CallEventKind::Created { .. } => "created",
        CallEventKind::LegRinging { .. } => "leg_ringing",
        CallEventKind::LegEnded { .. } => "leg_ended",
        CallEventKind::Answered { .. } => "answered",
        CallEventKind::Held => "held",
        CallEventKind::Resumed => "resumed",
        CallEventKind::Transferred { .. } => "transferred",
        CallEventKind::Ended { .. } => "ended",
        CallEventKind::Parked { .. } => "parked",
        CallEventKind::Unparked { .. } => "unparked",
        CallEventKind::RecordingAvailable { .. } => "recording_available",
        CallEventKind::Dtmf { .. } => "dtmf",
        CallEventKind::Ivr { .. } => "ivr",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_key_keeps_the_last_ten_digits() {
        assert_eq!(
            number_key("+7 (958) 241-21-28").as_deref(),
            Some("9582412128")
        );
        assert_eq!(number_key("89582412128").as_deref(), Some("9582412128"));
        assert_eq!(number_key("101").as_deref(), Some("101"));
        assert_eq!(number_key("anonymous"), None);
    }
}
