//! When to try a row again: the server's word first (`retry-after-ms`, `retry-after`, OpenAI's
//! `x-ratelimit-reset-*` durations, Anthropic's RFC 3339 resets), else exponential backoff with
//! full jitter, drawn from the host's seed so a run can be replayed.

use serde::Serialize;
use std::collections::BTreeMap;

/// Backoff without a server hint: up to 1 s × 2^(attempt−1), capped at 60 s, times a random
/// factor in [0, 1) ("full jitter": clients that failed together do not retry together).
pub const BASE_MS: f64 = 1_000.0;
pub const CAP_MS: f64 = 60_000.0;
/// A server may ask for a long wait (a daily limit); past an hour the row waits an hour and asks
/// again rather than sleeping through the day on one header.
pub const MAX_HINT_MS: f64 = 3_600_000.0;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delay {
    pub ms: f64,
    /// Which header decided, or `backoff`.
    pub source: String,
}

pub fn delay(attempt: u32, headers: &BTreeMap<String, String>, now: f64, seed: &str, key: &str) -> Delay {
    if let Some((ms, source)) = hint(headers, now) {
        return Delay { ms: ms.clamp(0.0, MAX_HINT_MS), source };
    }
    let exp = BASE_MS * 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
    Delay { ms: (unit(seed, key, attempt) * exp.min(CAP_MS)).round(), source: "backoff".to_owned() }
}

/// The server's requested wait in ms, and the header it came from.
pub fn hint(h: &BTreeMap<String, String>, now: f64) -> Option<(f64, String)> {
    let get = |k: &str| h.get(k).map(|v| v.trim());
    if let Some(ms) = get("retry-after-ms").and_then(crate::decode::number) {
        return Some((ms, "retry-after-ms".to_owned()));
    }
    if let Some(s) = get("retry-after").and_then(crate::decode::number) {
        return Some((s * 1000.0, "retry-after".to_owned()));
    }
    // The limits that are exhausted (remaining 0, or not reported) decide; the latest reset wins.
    let mut best: Option<(f64, String)> = None;
    let mut consider = |ms: f64, name: &str| {
        if best.as_ref().is_none_or(|(b, _)| ms > *b) {
            best = Some((ms, name.to_owned()));
        }
    };
    for kind in ["requests", "tokens"] {
        let reset = format!("x-ratelimit-reset-{kind}");
        let spent = get(&format!("x-ratelimit-remaining-{kind}")).is_none_or(|r| r == "0");
        if let Some(ms) = get(&reset).and_then(duration_ms).filter(|_| spent) {
            consider(ms, &reset);
        }
    }
    for kind in ["requests", "tokens", "input-tokens", "output-tokens"] {
        let reset = format!("anthropic-ratelimit-{kind}-reset");
        let spent = get(&format!("anthropic-ratelimit-{kind}-remaining")).is_none_or(|r| r == "0");
        if let Some(at) = get(&reset).and_then(rfc3339_ms).filter(|_| spent) {
            consider((at - now).max(0.0), &reset);
        }
    }
    best
}

/// `6m0s`, `2s81ms`, `1s`, `20ms`, `1h2m3.5s`, `0.5s` → milliseconds.
pub fn duration_ms(s: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let value = crate::decode::number(&rest[..n])?;
        rest = &rest[n..];
        let unit = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        total += value
            * match &rest[..unit] {
                "h" => 3_600_000.0,
                "m" => 60_000.0,
                "s" | "" => 1_000.0,
                "ms" => 1.0,
                "us" | "µs" => 0.001,
                "ns" => 0.000_001,
                _ => return None,
            };
        rest = &rest[unit..];
    }
    Some(total)
}

/// `2026-11-22T21:47:05Z`, with optional fraction and `±hh:mm` offset → ms since the epoch.
pub fn rfc3339_ms(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (y, mo, d, h, mi, sec) =
        (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut frac: f64 = 0.0;
    if b.get(i) == Some(&b'.') {
        let end = s[i + 1..].find(|c: char| !c.is_ascii_digit()).map_or(s.len(), |e| e + i + 1);
        frac = crate::decode::number(&format!("0{}", &s[i..end]))?;
        i = end;
    }
    let offset_min = match s.get(i..)? {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let m = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if o.starts_with('-') { -m } else { m }
        }
        _ => return None,
    };
    // Howard Hinnant's days-from-civil.
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * (mo + if mo > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    Some(secs as f64 * 1000.0 + (frac * 1000.0).round())
}

/// A number in [0, 1) from the seed, the key and the attempt (FNV-1a, then SplitMix64).
pub fn unit(seed: &str, key: &str, attempt: u32) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes().chain([0]).chain(key.bytes()).chain([0]).chain(attempt.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn openai_durations() {
        assert_eq!(duration_ms("6m0s"), Some(360_000.0));
        assert_eq!(duration_ms("2s81ms"), Some(2_081.0));
        assert_eq!(duration_ms("1s"), Some(1_000.0));
        assert_eq!(duration_ms("20ms"), Some(20.0));
        assert_eq!(duration_ms("1h2m3.5s"), Some(3_723_500.0));
        assert_eq!(duration_ms("soon"), None);
        assert_eq!(duration_ms(""), None);
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(rfc3339_ms("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(rfc3339_ms("2026-11-22T21:47:05.123Z"), Some(1_795_384_025_123.0));
        assert_eq!(rfc3339_ms("2026-11-22T22:47:05+01:00"), Some(1_795_384_025_000.0));
        assert_eq!(rfc3339_ms("2000-02-29T00:00:00Z"), Some(951_782_400_000.0));
        assert_eq!(rfc3339_ms("yesterday"), None);
    }

    #[test]
    fn the_server_decides_before_the_backoff() {
        let now = 1_795_384_025_000.0;
        let d = |h: &[(&str, &str)]| delay(1, &headers(h), now, "seed", "k");
        assert_eq!(d(&[("retry-after-ms", "1500"), ("retry-after", "9")]).ms, 1_500.0);
        assert_eq!(d(&[("retry-after", "9")]).ms, 9_000.0);
        let both = d(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "2s81ms"),
            ("x-ratelimit-remaining-tokens", "1200"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        assert_eq!((both.ms, both.source.as_str()), (2_081.0, "x-ratelimit-reset-requests"));
        let a = d(&[("anthropic-ratelimit-input-tokens-reset", "2026-11-22T21:47:35Z")]);
        assert_eq!((a.ms, a.source.as_str()), (30_000.0, "anthropic-ratelimit-input-tokens-reset"));
        assert_eq!(d(&[("retry-after", "86400")]).ms, MAX_HINT_MS);
    }

    #[test]
    fn backoff_is_full_jitter_under_a_growing_cap_and_replayable() {
        let none = BTreeMap::new();
        for attempt in 1..12 {
            let cap = (BASE_MS * 2f64.powi(attempt as i32 - 1)).min(CAP_MS);
            let a = delay(attempt, &none, 0.0, "s1", "row");
            assert!(a.ms >= 0.0 && a.ms <= cap, "{attempt}: {}", a.ms);
            assert_eq!(a, delay(attempt, &none, 0.0, "s1", "row"));
        }
        let spread: Vec<f64> = (0..200).map(|i| unit("s", &i.to_string(), 1)).collect();
        let mean = spread.iter().sum::<f64>() / 200.0;
        assert!((0.4..0.6).contains(&mean), "{mean}");
        assert_ne!(unit("s1", "row", 1), unit("s2", "row", 1));
    }
}
