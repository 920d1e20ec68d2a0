//! Apps Script's daily quotas, as this job spends them: UrlFetch calls (each request of a
//! `fetchAll` is one) and the total runtime of trigger executions, per account type (Google's
//! "Quotas for Google Services": 20,000 calls and 90 minutes a day on a consumer account,
//! 100,000 and 6 hours on Workspace). A spent quota is neither a row failure nor a retry: the run
//! pauses until enough of the day's use has aged out, and says when.
//!
//! The host keeps a [`Day`] (hourly buckets of what this script spent, a kilobyte in Script
//! Properties) and passes it in; the quotas are per user, so other scripts may spend them too:
//! a refusal our own count does not explain pauses for an hour and tries again.

use crate::error::Result;
use crate::spec::{Account, Job};
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

const HOUR_MS: f64 = 3_600_000.0;
const DAY_MS: f64 = 24.0 * HOUR_MS;
/// A slice needs room for one wave: the slowest request (60 s), the writes and a margin.
pub const MIN_SLICE_MS: f64 = 90_000.0;

/// One account type's daily quotas.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quotas {
    pub urlfetch: u64,
    pub trigger_runtime_ms: f64,
}

impl Account {
    pub fn quotas(self) -> Quotas {
        match self {
            Account::Consumer => Quotas { urlfetch: 20_000, trigger_runtime_ms: 90.0 * 60_000.0 },
            Account::Workspace => Quotas { urlfetch: 100_000, trigger_runtime_ms: 6.0 * HOUR_MS },
        }
    }

    /// "consumer" or "Workspace", as a sentence names the account.
    pub fn name(self) -> &'static str {
        match self {
            Account::Consumer => "consumer",
            Account::Workspace => "Workspace",
        }
    }
}

/// What this script spent in one clock hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Hour {
    /// The hour's start (ms since the epoch, a multiple of an hour).
    pub at: f64,
    #[serde(default)]
    pub fetches: u64,
    #[serde(default)]
    pub trigger_ms: f64,
}

/// The last 24 hours of use, and until when UrlFetch was refused beyond what we counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Day {
    #[serde(default)]
    pub hours: Vec<Hour>,
    #[serde(default)]
    pub blocked_until: f64,
}

impl Day {
    /// Drops the hours that have left the window (the whole hour must be a day old).
    fn prune(&mut self, now: f64) {
        self.hours.retain(|h| h.at + HOUR_MS + DAY_MS > now);
    }

    fn hour(&mut self, now: f64) -> &mut Hour {
        let at = (now / HOUR_MS).floor() * HOUR_MS;
        if self.hours.last().is_none_or(|h| h.at != at) {
            self.hours.push(Hour { at, ..Hour::default() });
        }
        self.hours.last_mut().expect("just pushed")
    }

    pub fn record(&mut self, now: f64, fetches: u64, trigger_ms: f64) {
        self.prune(now);
        if fetches > 0 || trigger_ms > 0.0 {
            let h = self.hour(now);
            h.fetches += fetches;
            h.trigger_ms += trigger_ms;
        }
    }

    fn used(&self) -> (u64, f64) {
        self.hours.iter().fold((0, 0.0), |(f, t), h| (f + h.fetches, t + h.trigger_ms))
    }

    /// When `need` more of a quota fits under `limit`, given what each hour spent: the end of
    /// the hour whose leaving frees enough, a day later (a bucket leaves whole, so this is never
    /// early).
    fn free_at(&self, now: f64, need: f64, limit: f64, spent: impl Fn(&Hour) -> f64) -> f64 {
        let mut over = self.hours.iter().map(&spent).sum::<f64>() + need - limit;
        if over <= 0.0 {
            return now;
        }
        for h in &self.hours {
            over -= spent(h);
            if over <= 0.0 {
                return h.at + HOUR_MS + DAY_MS;
            }
        }
        now + DAY_MS
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DayInput {
    pub spec: Value,
    #[serde(default)]
    pub day: Option<Day>,
    pub now: f64,
    /// UrlFetch requests just made.
    #[serde(default)]
    pub fetches: u64,
    /// Runtime of a trigger execution just ended.
    #[serde(default)]
    pub trigger_ms: f64,
    /// Whether this execution was started by a trigger (its runtime counts against the quota).
    #[serde(default)]
    pub trigger: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayReport {
    pub day: Day,
    pub account: Account,
    pub quotas: Quotas,
    pub fetches_left: u64,
    pub trigger_ms_left: f64,
    /// When this slice must end: its time slice, or sooner if the day's trigger runtime is
    /// nearly spent (a trigger execution only).
    pub deadline: f64,
    /// Set when the run must wait: no room for one more wave today.
    pub pause_until: Option<f64>,
    /// What to tell the person, e.g. "UrlFetch quota for today used …; resumes about 14:05 UTC".
    pub message: Option<String>,
}

pub fn day(input: DayInput) -> Result<DayReport> {
    let job = Job::compile(&input.spec)?;
    let mut day = input.day.unwrap_or_default();
    day.record(input.now, input.fetches, input.trigger_ms);
    Ok(report(&job, day, input.now, input.trigger))
}

/// The state of the day's quotas for `job` at `now`.
pub fn report(job: &Job, mut day: Day, now: f64, trigger: bool) -> DayReport {
    day.prune(now);
    let account = job.spec.limits.account;
    let q = account.quotas();
    let (fetches, trigger_ms) = day.used();
    let fetches_left = q.urlfetch.saturating_sub(fetches);
    let trigger_ms_left = (q.trigger_runtime_ms - trigger_ms).max(0.0);
    let slice = f64::from(job.spec.limits.time_slice_seconds) * 1000.0;
    let wave = f64::from(job.spec.limits.wave_size.max(1)).min(q.urlfetch as f64);
    let mut pause: Option<(f64, String)> = None;
    if now < day.blocked_until || fetches_left == 0 {
        let until = day.blocked_until.max(day.free_at(now, wave, q.urlfetch as f64, |h| h.fetches as f64));
        let why = format!(
            "UrlFetch quota for today used ({} requests a day on a {} account)",
            q.urlfetch,
            account.name()
        );
        pause = Some((until, why));
    } else if trigger && trigger_ms_left < MIN_SLICE_MS {
        let until = day.free_at(now, slice, q.trigger_runtime_ms, |h| h.trigger_ms);
        let why = format!(
            "Apps Script trigger time for today used ({:.0} minutes a day on a {} account)",
            q.trigger_runtime_ms / 60_000.0,
            account.name()
        );
        pause = Some((until, why));
    }
    let deadline = now + if trigger { slice.min(trigger_ms_left) } else { slice };
    DayReport {
        account,
        quotas: q,
        fetches_left,
        trigger_ms_left,
        deadline,
        pause_until: pause.as_ref().map(|p| p.0),
        message: pause.map(|(until, why)| format!("{why}; resumes about {} UTC", clock(until))),
        day,
    }
}

/// A refusal by Apps Script ("Service invoked too many times for one day: urlfetch."): wait
/// until our own use frees a wave's worth, or an hour when our own count does not explain it.
pub fn refused(job: &Job, day: &mut Day, now: f64) {
    let q = job.spec.limits.account.quotas();
    let wave = f64::from(job.spec.limits.wave_size.max(1)).min(q.urlfetch as f64);
    let own = day.free_at(now, wave, q.urlfetch as f64, |h| h.fetches as f64);
    day.blocked_until = if own > now { own } else { now + HOUR_MS };
}

/// `14:05` for a time in ms (UTC).
fn clock(ms: f64) -> String {
    let minutes = (ms / 60_000.0).ceil() as i64;
    format!("{:02}:{:02}", minutes.rem_euclid(1440) / 60, minutes.rem_euclid(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(account: &str) -> Job {
        let mut spec: Value =
            crate::decode::value(include_bytes!("../../examples/clinical/job.json")).unwrap();
        spec["limits"]["account"] = Value::String(account.into());
        Job::compile(&spec).unwrap()
    }

    const T0: f64 = 1_800_000_000_000.0;

    #[test]
    fn urlfetch_quota_pauses_until_the_first_hour_ages_out() {
        let j = job("consumer");
        let mut day = Day::default();
        day.record(T0, 15_000, 0.0);
        day.record(T0 + 2.0 * HOUR_MS, 5_000, 0.0);
        let r = report(&j, day.clone(), T0 + 3.0 * HOUR_MS, false);
        assert_eq!(r.fetches_left, 0);
        let until = r.pause_until.unwrap();
        let first_hour = (T0 / HOUR_MS).floor() * HOUR_MS;
        assert_eq!(until, first_hour + HOUR_MS + DAY_MS, "the 15,000 leave with their hour");
        assert!(r.message.unwrap().starts_with(
            "UrlFetch quota for today used (20000 requests a day on a consumer account); resumes about "
        ));
        // A day later there is room again, and the old hours are gone.
        let later = report(&j, day.clone(), until, false);
        assert!(later.pause_until.is_none());
        assert_eq!(later.fetches_left, 15_000);
        // Workspace has five times the calls.
        assert_eq!(report(&job("workspace"), day, T0 + 3.0 * HOUR_MS, false).fetches_left, 80_000);
    }

    #[test]
    fn trigger_runtime_shortens_the_slice_then_pauses() {
        let j = job("consumer");
        let mut day = Day::default();
        day.record(T0, 0, 88.0 * 60_000.0);
        let r = report(&j, day.clone(), T0 + 60_000.0, true);
        assert_eq!(r.trigger_ms_left, 2.0 * 60_000.0);
        assert_eq!(r.deadline, T0 + 60_000.0 + 120_000.0, "the slice ends with the day's runtime");
        assert!(r.pause_until.is_none());
        // A manual run does not spend trigger time: its slice is whole.
        assert_eq!(report(&j, day.clone(), T0, false).deadline, T0 + 300_000.0);
        day.record(T0 + 5.0 * 60_000.0, 0, 60_000.0);
        let r = report(&j, day, T0 + 6.0 * 60_000.0, true);
        assert!(r.message.unwrap().starts_with("Apps Script trigger time for today used (90 minutes a day"));
        assert!(r.pause_until.unwrap() > T0 + DAY_MS);
    }

    #[test]
    fn a_refusal_our_count_does_not_explain_waits_an_hour() {
        let j = job("consumer");
        let mut day = Day::default();
        day.record(T0, 10, 0.0);
        refused(&j, &mut day, T0);
        let r = report(&j, day, T0 + 60_000.0, false);
        assert_eq!(r.pause_until, Some(T0 + HOUR_MS));
        assert!(r.fetches_left > 0);
    }

    #[test]
    fn clock_reads_utc() {
        assert_eq!(clock(Date::utc(14, 4, 10)), "14:05");
    }

    struct Date;
    impl Date {
        fn utc(h: i64, m: i64, s: i64) -> f64 {
            (1_800_000_000_000 / 86_400_000 * 86_400_000 + (h * 3600 + m * 60 + s) * 1000) as f64
        }
    }
}
