//! Before and during a run: what the next wave may use (capacity, per-row reservation), and what
//! the whole job will cost and take — realtime or Batch API, with and without caching.

use crate::budget::Budget;
use crate::cell::Cell;
use crate::error::Result;
use crate::keys;
use crate::plan::{Capacity, Reserve};
use crate::prompt::{self, PrefixReport};
use crate::ratelimit::Limiter;
use crate::spec::{Job, ProviderKind};
use crate::validate;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapacityInput {
    pub spec: Value,
    pub now: f64,
    #[serde(default)]
    pub limiter: Option<Limiter>,
    #[serde(default)]
    pub budget: Option<Budget>,
    /// The longest row prompt in bytes, if the host knows it; else 2,000.
    #[serde(default)]
    pub row_bytes: Option<u64>,
    /// For a provider Batch API submission: no rate limits (batches have their own pool), the
    /// reservation at the batch price.
    #[serde(default)]
    pub batch: bool,
    /// The day's quota use: a wave never asks for more UrlFetch calls than are left today.
    #[serde(default)]
    pub day: Option<crate::quota::Day>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityReport {
    /// For `planWave`.
    pub capacity: Capacity,
    pub reserve: Reserve,
    /// Refilled to `now`; keep it for the next call.
    pub limiter: Limiter,
    /// With a `day`: the quotas left, and when the run must wait instead of sending.
    pub quota: Option<crate::quota::DayReport>,
    /// For `planWave`: the fetchAll lanes and their observed pace (10 s a request until a
    /// wave has been timed), so a wave never outlasts its slice.
    pub timing: crate::plan::Timing,
}

pub fn capacity(input: CapacityInput) -> Result<CapacityReport> {
    let job = Job::compile(&input.spec)?;
    Ok(capacity_with(&job, input))
}

/// [`capacity`] for a compiled job (`input.spec` is not read).
pub fn capacity_with(job: &Job, input: CapacityInput) -> CapacityReport {
    let mut limiter = input.limiter.unwrap_or_else(|| Limiter::new(job, input.now));
    let (mut requests, tokens) = limiter.capacity(job, input.now);
    let quota = input.day.map(|d| crate::quota::report(job, d, input.now, false));
    if let Some(q) = &quota {
        requests = if q.pause_until.is_some() { 0 } else { requests.min(q.fetches_left) };
    }
    let budget = input.budget.or_else(|| job.spec.budget.as_ref().map(|b| Budget::new(b.max_usd)));
    let prefix = prompt::prefix(job);
    let row_bytes = input.row_bytes.unwrap_or(2_000);
    let max_output = u64::from(job.spec.provider.max_output_tokens);
    let factor = if input.batch { crate::price::batch_factor() } else { 1.0 };
    // Rate limits count what the provider estimates (about four bytes a token, plus the whole
    // output allowance): a 429 only costs a retry. The budget takes the upper bound (a token per
    // byte): overspending cannot be undone.
    // Once answers have come, the provider's own count of the prompt (with a tenth to spare).
    let prompt_estimate = limiter.prompt_tokens.map_or_else(
        || prompt::estimate_tokens(&prefix) + row_bytes.div_ceil(4) + 16,
        |t| (t * 11.0 / 10.0).ceil() as u64,
    );
    let prompt_max = prompt::max_tokens(&prefix) + row_bytes;
    let reserve = Reserve {
        tokens: prompt_estimate + max_output,
        usd: job.price.as_ref().map_or(0.0, |p| p.worst_case(prompt_max, max_output) * factor),
    };
    CapacityReport {
        capacity: Capacity {
            requests: (!input.batch).then_some(requests),
            tokens: (!input.batch).then_some(tokens),
            usd: budget.map(|b| b.headroom()),
        },
        reserve,
        timing: crate::plan::Timing {
            lanes: job.spec.limits.fetch_all_concurrency,
            lane_ms: limiter.lane_ms.unwrap_or(LATENCY_S * 1000.0),
            ..crate::plan::Timing::default()
        },
        limiter,
        quota,
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EstimateInput {
    pub spec: Value,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Throughput seen so far in this run, for the ETA.
    #[serde(default)]
    pub observed: Option<Observed>,
    /// Requests a host has in flight at once (Apps Script's `fetchAll` wave); default the spec's
    /// wave size.
    #[serde(default)]
    pub parallel: Option<u32>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Observed {
    pub rows: u64,
    pub ms: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    /// Rows that will be sent: not blank, not invalid, not duplicates.
    pub rows: usize,
    pub prefix: PrefixReport,
    pub prompt_tokens_per_row: u64,
    /// From the spec's examples when it has some, else half of `maxOutputTokens`.
    pub output_tokens_per_row: u64,
    /// USD; absent without a price.
    pub cost: Option<Costs>,
    pub eta: Eta,
    /// Days of the account's daily quotas (UrlFetch calls, trigger runtime) the job needs
    /// realtime: above 1 it pauses for a day at least once, and the Batch API suits it better.
    pub quota_days: f64,
    /// Executions worth running at once (see [`workers`]).
    pub workers: Workers,
    pub warnings: Vec<String>,
}

/// How many executions to run a job with at once, and what bounds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workers {
    pub count: u32,
    /// `requests` or `tokens` (the provider's limits), `platform` (the account's simultaneous
    /// executions) or `rows` (no more than there are waves of work).
    pub limited_by: String,
}

/// Executions the account may run at once for one job: Apps Script allows 30 simultaneous per
/// user (PLATFORM.md); five are left for the sidebar's polls, the menus and the triggers.
pub const MAX_WORKERS: u32 = 25;

/// Executions worth running at once: enough to keep the provider's request or token rate in
/// flight (each request taking `LATENCY_S`, each execution holding `fetchAllConcurrency` requests
/// at a time, busy [`LANE_BUSY`] of its time), no more than the platform allows, and no more than
/// there are waves of work. More than the rate needs cost nothing but executions: the limiter,
/// shared under the lock, splits the rate between them.
pub fn workers(job: &Job, rows: u64, tokens_per_row: u64) -> Workers {
    let l = &job.spec.limits;
    let per_second = [
        (f64::from(l.requests_per_minute) / 60.0, "requests"),
        (f64::from(l.tokens_per_minute) / 60.0 / tokens_per_row.max(1) as f64, "tokens"),
    ];
    let (rate, by) = per_second.into_iter().fold((f64::INFINITY, ""), |a, b| if b.0 < a.0 { b } else { a });
    let held = f64::from(l.fetch_all_concurrency.max(1)) * LANE_BUSY;
    let needed = (rate * LATENCY_S / held).ceil().max(1.0) as u32;
    let waves = rows.div_ceil(u64::from(l.wave_size.max(1))).max(1).min(u64::from(u32::MAX)) as u32;
    let (count, by) = [(needed, by), (MAX_WORKERS, "platform"), (waves, "rows")]
        .into_iter()
        .fold((u32::MAX, ""), |a, b| if b.0 < a.0 { b } else { a });
    Workers { count: count.max(1), limited_by: by.to_owned() }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Costs {
    pub realtime: f64,
    /// The prefix cached for every row after the first (Anthropic: written once, then read).
    pub realtime_cached: f64,
    pub batch: f64,
    /// Anthropic's batch discount stacks with caching; OpenAI's batch price is taken as is.
    pub batch_cached: f64,
    pub price_date: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Eta {
    pub rows_per_minute: f64,
    /// `requests`, `tokens`, `latency` (parallel requests of ~10 s each) or `observed`.
    pub limited_by: String,
    pub minutes: f64,
    /// Apps Script executions of one time slice each.
    pub executions: u64,
}

/// Assumed seconds per request when nothing has been observed yet.
const LATENCY_S: f64 = 10.0;

/// The share of its time a worker's lanes hold a request: a `fetchAll` of two requests a lane
/// ends with its slowest lane, and the others wait (about half, for latencies with a 95th
/// percentile three times the median: the bench's provider, `tools/bench-sim.mjs`).
const LANE_BUSY: f64 = 0.5;

pub fn estimate_job(input: EstimateInput) -> Result<Estimate> {
    let job = Job::compile(&input.spec)?;
    estimate_with(&job, &input)
}

/// [`estimate_job`] for a compiled job (`input.spec` is not read).
pub fn estimate_with(job: &Job, input: &EstimateInput) -> Result<Estimate> {
    let keyed = keys::key_block(job, &input.header, &input.rows, 2)?;
    let excluded: std::collections::HashSet<u64> = keyed.excluded.iter().map(|e| e.sheet_row).collect();
    let positions = validate::positions(job, &input.header).unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    let mut row_tokens = 0;
    let mut n = 0usize;
    for (i, row) in input.rows.iter().enumerate() {
        let key = &keyed.keys[i];
        let sheet_row = 2 + i as u64;
        if key.is_empty() || excluded.contains(&sheet_row) || !seen.insert(keyed.signatures[i].as_str()) {
            continue;
        }
        n += 1;
        row_tokens +=
            prompt::estimate_tokens(&prompt::row_text(job, &prompt::row_object(job, &positions, row)));
    }
    let prefix = prompt::prefix_report(job, &prompt::prefix(job));
    let per_row_prompt = prefix.tokens + if n > 0 { row_tokens / n as u64 } else { 0 };
    let examples = &job.spec.prompt.examples;
    let output = if examples.is_empty() {
        u64::from(job.spec.provider.max_output_tokens) / 2
    } else {
        examples.iter().map(|e| prompt::estimate_tokens(&e.output.to_string())).sum::<u64>()
            / examples.len() as u64
    };
    let rows = n as u64;
    let cost = job.price.as_ref().map(|p| {
        use crate::price::Usage;
        let plain = Usage { input: per_row_prompt * rows, output: output * rows, ..Usage::default() };
        let cached = if prefix.cacheable && rows > 0 {
            let first_write = job.spec.provider.kind == ProviderKind::Anthropic;
            Usage {
                input: (per_row_prompt - prefix.tokens) * rows + if first_write { 0 } else { prefix.tokens },
                cached_input: prefix.tokens * (rows - 1),
                cache_write: if first_write { prefix.tokens } else { 0 },
                output: output * rows,
            }
        } else {
            plain
        };
        let anthropic = job.spec.provider.kind == ProviderKind::Anthropic;
        Costs {
            realtime: p.cost(&plain, false),
            realtime_cached: p.cost(&cached, false),
            batch: p.cost(&plain, true),
            batch_cached: p.cost(if anthropic { &cached } else { &plain }, true),
            price_date: p.date.clone(),
        }
    });
    let limits = &job.spec.limits;
    let parallel = f64::from(input.parallel.unwrap_or(limits.wave_size).min(limits.fetch_all_concurrency));
    let mut candidates = vec![
        (f64::from(limits.requests_per_minute), "requests"),
        (f64::from(limits.tokens_per_minute) / (per_row_prompt + output).max(1) as f64, "tokens"),
        (parallel * 60.0 / LATENCY_S, "latency"),
    ];
    if let Some(o) = input.observed.filter(|o| o.rows > 0 && o.ms > 0.0) {
        candidates = vec![(o.rows as f64 * 60_000.0 / o.ms, "observed")];
    }
    let (rate, by) = candidates.into_iter().fold((f64::INFINITY, ""), |a, b| if b.0 < a.0 { b } else { a });
    let minutes = if rows == 0 { 0.0 } else { rows as f64 / rate };
    let slice_minutes = f64::from(limits.time_slice_seconds) / 60.0;
    let mut warnings: Vec<String> = prefix.warning.iter().cloned().collect();
    // One day's quotas for the account: a job past them pauses and resumes the next day.
    let account = limits.account;
    let q = account.quotas();
    let daily_minutes = q.trigger_runtime_ms / 60_000.0;
    let account_name = format!("a {}", account.name());
    if minutes > daily_minutes {
        warnings.push(format!(
            "about {minutes:.0} minutes of Apps Script time: more than the {daily_minutes:.0} minutes of trigger \
             runtime {account_name} account gets per day, so the run pauses and takes about {} days; the Batch \
             API suits this job better",
            (minutes / daily_minutes).ceil()
        ));
    }
    let quota_days = (minutes / daily_minutes).max(rows as f64 / q.urlfetch as f64).max(1.0);
    if rows > q.urlfetch {
        warnings.push(format!(
            "{rows} requests: more than the {} UrlFetch calls {account_name} account gets per day, so the run \
             pauses and takes at least {} days; the Batch API sends them in a few calls",
            q.urlfetch,
            rows.div_ceil(q.urlfetch)
        ));
    }
    if job.price.is_none() {
        warnings.push(format!(
            "no price for model {}: cost and budget cannot be computed",
            job.spec.provider.model
        ));
    }
    Ok(Estimate {
        rows: n,
        prefix,
        prompt_tokens_per_row: per_row_prompt,
        output_tokens_per_row: output,
        cost,
        eta: Eta {
            rows_per_minute: (rate * 10.0).round() / 10.0,
            limited_by: by.to_owned(),
            minutes: (minutes * 10.0).round() / 10.0,
            executions: (minutes / slice_minutes).ceil() as u64,
        },
        quota_days: quota_days.ceil(),
        workers: workers(job, rows, per_row_prompt + output),
        warnings,
    })
}
