//! Errors are data: one enum for the crate, each variant with a stable machine code, and the
//! details a host needs to point at the offending row, field or JSON path.

use serde::Serialize;

/// One thing wrong with an input, located by its JSON path (`rows[3][2]`, `columns[1]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub path: String,
    pub expected: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

impl Problem {
    pub fn new(path: impl Into<String>, expected: impl Into<String>) -> Self {
        Self { path: path.into(), expected: expected.into(), found: None }
    }

    pub fn found(mut self, found: impl Into<String>) -> Self {
        self.found = Some(found.into());
        self
    }
}

impl Problem {
    /// A validation finding as a problem: `expected X, found Y` messages split back into parts.
    pub fn from_finding(f: &crate::finding::Finding) -> Self {
        let at = display_path(&f.path);
        if f.code == "required" {
            return Problem::new(at, "a value (the field is required)");
        }
        if f.code == "additionalProperties" {
            let known = f.message.rsplit_once("(fields: ").map_or("", |(_, k)| k.trim_end_matches(')'));
            let field = f.path.rsplit(['.', '[']).next().unwrap_or_default().trim_matches(['"', ']']);
            return Problem::new(at, format!("one of the fields {known}"))
                .found(format!("unknown field `{field}`"));
        }
        match f.message.strip_prefix("expected ").and_then(|m| m.rsplit_once(", found ")) {
            Some((expected, found)) => Problem::new(at, expected).found(found),
            None => Problem::new(at, f.message.clone()),
        }
    }
}

/// `(input)` for the root, whose path is empty.
pub(crate) fn display_path(path: &str) -> String {
    if path.is_empty() { "(input)".to_owned() } else { path.to_owned() }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: expected {}", self.path, self.expected)?;
        if let Some(found) = &self.found {
            write!(f, ", found {found}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The input was not what the function takes. Lists every problem found, not just the first.
    #[error("{}", list(.0))]
    InvalidInput(Vec<Problem>),
}

fn list(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => {
            let items: Vec<String> = many.iter().map(Problem::to_string).collect();
            format!("{} problems: {}", many.len(), items.join("; "))
        }
    }
}

impl Error {
    /// Stable machine code; hosts branch on this, never on the message.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidInput(_) => "invalid_input",
        }
    }

    /// The problems behind the error, for hosts that show them one by one.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::InvalidInput(problems) => problems,
        }
    }

    pub fn invalid(problem: Problem) -> Self {
        Error::InvalidInput(vec![problem])
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_problem_reads_as_a_sentence() {
        let e = Error::invalid(Problem::new("rows[2][1]", "a finite number").found("NaN"));
        assert_eq!(e.to_string(), "rows[2][1]: expected a finite number, found NaN");
        assert_eq!(e.code(), "invalid_input");
    }

    #[test]
    fn many_problems_are_all_listed() {
        let e = Error::InvalidInput(vec![Problem::new("a", "x"), Problem::new("b", "y")]);
        assert_eq!(e.to_string(), "2 problems: a: expected x; b: expected y");
        assert_eq!(e.problems().len(), 2);
    }
}
