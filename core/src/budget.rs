//! The hard budget. Before a wave is sent, its worst case is reserved; when its responses are
//! in, each reservation is released and the real cost is spent. A wave whose worst case does not
//! fit is not sent, so parallel work can never overrun the budget.

use serde::Deserialize;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Budget {
    pub max_usd: f64,
    #[serde(default)]
    pub spent_usd: f64,
    #[serde(default)]
    pub reserved_usd: f64,
}

impl Budget {
    pub fn new(max_usd: f64) -> Self {
        Self { max_usd, spent_usd: 0.0, reserved_usd: 0.0 }
    }

    /// What a new reservation may still take.
    pub fn headroom(&self) -> f64 {
        // Rounded down to a nano-dollar: sums of prices leave float dust (0.010000000000000018).
        ((self.max_usd - self.spent_usd - self.reserved_usd).max(0.0) * 1e9).floor() / 1e9
    }

    /// Reserves `usd` if it fits.
    pub fn reserve(&mut self, usd: f64) -> bool {
        if usd > self.headroom() {
            return false;
        }
        self.reserved_usd += usd;
        true
    }

    /// Releases a reservation and spends what the request really cost.
    pub fn settle(&mut self, reserved: f64, spent: f64) {
        self.reserved_usd = (self.reserved_usd - reserved).max(0.0);
        self.spent_usd += spent;
    }
}
