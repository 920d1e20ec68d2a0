//! "Check key": when a key or the provider settings are saved, one request that spends nothing
//! (the provider's lookup of the job's model) says whether the key is accepted and the model is
//! there, or gives the provider's reason (wrong key, a model it does not have, an endpoint that
//! does not answer), before any row is sent. What the lookup cannot tell (an account out of
//! credit: listing models is free) the run's first row, sent alone, finds out.

use super::batch::Answer;
use super::flows::Phase;
use super::protocol::Command;
use super::slice::{self, Slice};
use super::{Run, read};
use crate::error::Result;
use crate::provider::classify::classify;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub(crate) fn begin(run: &mut Run) -> Vec<Command> {
    run.phase = Phase::KeySpec;
    vec![Command::ReadCell { sheet: super::SPEC_SHEET }]
}

pub(crate) fn spec(run: &mut Run, spec: Value) -> Result<Vec<Command>> {
    Ok(match slice::compile(spec)? {
        Err(message) => vec![Command::Fail { message }],
        Ok(job) => {
            let name = slice::key_name(&job).to_owned();
            run.slice = Some(Box::new(Slice::new(job)));
            run.phase = Phase::KeyHas;
            vec![Command::HasKey { name }]
        }
    })
}

pub(crate) fn has(run: &mut Run, has: Value) -> Vec<Command> {
    let job = &run.slice.as_ref().expect("the spec was read").job;
    let name = slice::key_name(job);
    if has.as_bool() != Some(true) {
        let message = format!("no API key is set: add one in rowbatch's settings (it is kept as {name})");
        return vec![done(false, None, message)];
    }
    let lookup = crate::provider::model_lookup(job);
    run.phase = Phase::KeyAnswer;
    vec![Command::Call {
        method: "GET",
        url: lookup.url,
        auth: lookup.auth,
        key: name.to_owned(),
        headers: lookup.headers,
        body: None,
        form: None,
        file_name: None,
        file: None,
    }]
}

pub(crate) fn answered(run: &mut Run, answer: Value) -> Result<Vec<Command>> {
    let job = &run.slice.as_ref().expect("the spec was read").job;
    let a: Answer = read(answer, "call")?;
    let model = &job.spec.provider.model;
    Ok(vec![if a.ok() {
        done(true, Some(a.status), format!("key accepted: the provider has {model} for it"))
    } else if a.status == 0 {
        // UrlFetchApp threw: no HTTP answer at all (a wrong host, DNS, TLS, a closed port).
        let base = crate::provider::base_url(job);
        let why = crate::finding::clip(a.body.trim(), 200);
        done(false, None, format!("no answer from {base} ({why}): check provider.baseUrl"))
    } else {
        done(false, Some(a.status), classify(a.status, &BTreeMap::new(), &a.body).message)
    }])
}

fn done(ok: bool, status: Option<u16>, message: String) -> Command {
    Command::Done { result: json!({ "keyCheck": { "ok": ok, "status": status, "message": message } }) }
}
