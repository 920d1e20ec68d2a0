//! `ROWBATCH_STATE`: what every execution of a job shares — the money, the rate limiter and the
//! day's quota use — and the one way it changes.
//!
//! Money is a write-ahead journal. Before a round of requests is sent, its worst case is
//! recorded as a reservation under the holder's name; when the responses are in, the holder's
//! reservation is replaced by what the round really cost. Both happen under the script lock,
//! on the state read fresh under that lock, so overlapping executions, batch submissions and
//! batch ingests all see one another's reservations. A holder killed in between leaves its
//! reservation; once it has outlived every lease it could hold, it is counted as spent
//! (`unconfirmedUsd`): what was sent may have been billed, and a budget must never be passed.

use crate::budget::Budget;
use crate::quota::Day;
use crate::ratelimit::Limiter;
use serde::Deserialize;
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Shared {
    /// What the provider answered for and its usage priced.
    pub spent_usd: f64,
    /// Reservations whose holder never settled them (killed mid-round): counted as spent.
    pub unconfirmed_usd: f64,
    pub reservations: Vec<Reservation>,
    pub limiter: Option<Limiter>,
    pub day: Option<Day>,
}

/// A round's worst case, recorded before it is sent.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reservation {
    /// The execution (or `batch:<id>`) that sent it; at most one reservation per holder.
    pub holder: String,
    pub usd: f64,
    /// Past this time (ms) the holder is certainly gone: the reservation becomes spend.
    pub until: f64,
}

impl Shared {
    /// Reads the property's text; a missing or unreadable value is a fresh state (the sheets
    /// stay the source of truth for rows; a lost money record can only make the budget stricter
    /// if `spent` is carried elsewhere, so an unreadable one is reported by the caller).
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else { return Ok(Self::default()) };
        let value = crate::decode::value(text.as_bytes()).map_err(|e| e.to_string())?;
        crate::read::from_value(value).map_err(|e| e.to_string())
    }

    /// Reservations of holders that cannot be alive any more become spend.
    pub fn expire(&mut self, now: f64) {
        let (old, live): (Vec<_>, Vec<_>) = self.reservations.drain(..).partition(|r| r.until <= now);
        self.reservations = live;
        self.unconfirmed_usd += old.iter().map(|r| r.usd).sum::<f64>();
    }

    pub fn reserved_usd(&self) -> f64 {
        self.reservations.iter().map(|r| r.usd).sum()
    }

    /// The budget as every holder has left it.
    pub fn budget(&self, max_usd: f64) -> Budget {
        Budget {
            max_usd,
            spent_usd: self.spent_usd + self.unconfirmed_usd,
            reserved_usd: self.reserved_usd(),
        }
    }

    pub fn held_by(&self, holder: &str) -> f64 {
        self.reservations.iter().filter(|r| r.holder == holder).map(|r| r.usd).sum()
    }

    /// Replaces `holder`'s reservation with what its round cost.
    pub fn settle(&mut self, holder: &str, spent_usd: f64) {
        self.reservations.retain(|r| r.holder != holder);
        self.spent_usd += spent_usd;
    }

    /// Records `usd` more for `holder` if the budget (`max_usd`, when there is one) has room;
    /// `until` is when the holder is certainly gone.
    pub fn reserve(&mut self, holder: &str, usd: f64, until: f64, max_usd: Option<f64>) -> bool {
        if let Some(max) = max_usd
            && usd > self.budget(max).headroom()
        {
            return false;
        }
        if usd <= 0.0 {
            return true;
        }
        match self.reservations.iter_mut().find(|r| r.holder == holder) {
            Some(r) => {
                r.usd += usd;
                r.until = r.until.max(until);
            }
            None => self.reservations.push(Reservation { holder: holder.to_owned(), usd, until }),
        }
        true
    }

    pub fn total_spent(&self) -> f64 {
        self.spent_usd + self.unconfirmed_usd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_is_replaced_by_the_cost_and_never_passes_the_budget() {
        let mut s = Shared::default();
        assert!(s.reserve("a", 0.6, 1000.0, Some(1.0)));
        assert!(!s.reserve("b", 0.5, 1000.0, Some(1.0)), "0.6 held: 0.5 more would pass 1.0");
        assert!(s.reserve("b", 0.4, 1000.0, Some(1.0)));
        s.settle("a", 0.1);
        assert_eq!(s.held_by("a"), 0.0);
        assert!((s.budget(1.0).headroom() - 0.5).abs() < 1e-8);
        assert!(s.reserve("a", 0.5, 1000.0, Some(1.0)));
        assert!(!s.reserve("c", 0.001, 1000.0, Some(1.0)));
    }

    #[test]
    fn a_dead_holders_reservation_becomes_spend_after_its_time() {
        let mut s = Shared::default();
        s.reserve("killed", 0.3, 500.0, None);
        s.reserve("alive", 0.2, 5000.0, None);
        s.expire(499.0);
        assert_eq!(s.unconfirmed_usd, 0.0);
        s.expire(500.0);
        assert_eq!(s.unconfirmed_usd, 0.3);
        assert_eq!(s.reservations.len(), 1);
        assert!((s.budget(1.0).headroom() - 0.5).abs() < 1e-8);
    }

    #[test]
    fn the_state_reads_back_what_it_wrote_and_tolerates_none() {
        let mut s = Shared::default();
        s.reserve("x", 0.25, 9.0, None);
        s.settle("y", 0.5);
        let text = crate::to_json::to_string(&s);
        assert_eq!(Shared::parse(Some(&text)).unwrap(), s);
        assert_eq!(Shared::parse(None).unwrap(), Shared::default());
        assert!(Shared::parse(Some("{")).is_err());
    }
}
