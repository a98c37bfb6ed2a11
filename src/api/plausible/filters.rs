//! Plausible's filters → footfall's. footfall's filter model is an AND of `is`, `contains`
//! (ASCII case-insensitive) and `matches` (a whole-value glob, `*` within a path segment, `**`
//! across) filters; what Plausible says in other words is translated when the translation is
//! exact, and refused naming the part otherwise:
//! - Plausible's case-sensitive `contains` is the glob `**TEXT**`; its wildcard `*` (any
//!   characters) is footfall's `**`; an anchored regular expression made of literals, `.*` and
//!   `[^/]*` is a glob too. Values hold no line breaks, so `.` and `**` agree.
//! - `is` with several values (an OR) cannot be a footfall filter, but a breakdown by that very
//!   dimension answers it exactly — its rows for those values — so it is kept as `any_of` and
//!   refused elsewhere.
//! - Negations (`!=`, `is_not`, `not` …) and OR across dimensions are refused: the visitors of a
//!   complement or a union are not sums of footfall's figures.

use crate::stats::params::MAX_FILTERS;
use crate::stats::{Dimension, Filter, FilterOp};
use serde_json::Value;

use super::names;

/// Longest filter value, in characters: footfall's own filters' limit (`stats::params`).
const MAX_VALUE_CHARS: usize = 2048;

/// The filters of a Plausible-style question, in footfall's terms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Where {
    /// All must hold. Goal filters carry the goal's name, resolved later.
    pub filters: Vec<Filter>,
    /// "This dimension is one of these values": answered by a breakdown by that dimension only.
    pub any_of: Option<(Dimension, Vec<String>)>,
}

/// One condition.
#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Filter(Filter),
    AnyOf(Dimension, Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Is,
    /// Case-sensitive (Plausible's default) or not.
    Contains {
        case_sensitive: bool,
    },
    /// footfall's own contains (the v1 `~`, which Plausible does not have).
    FootfallContains,
    /// `*` = any characters.
    Wildcard,
    /// A regular expression.
    Regex,
}

/// One condition on Plausible property `property`.
fn simple(property: &str, op: Op, clauses: &[String]) -> Result<Cond, String> {
    let dimension = names::dimension(property)?;
    let Some(first) = clauses.first() else {
        return Err(format!("filter on {property}: no value to compare with"));
    };
    if clauses.iter().any(|v| v.chars().count() > MAX_VALUE_CHARS) {
        return Err(format!(
            "filter on {property}: values are at most {MAX_VALUE_CHARS} characters"
        ));
    }
    if clauses.len() > 1 {
        if op != Op::Is {
            return Err(format!(
                "filter on {property}: several values are an OR, which footfall answers for `is` only"
            ));
        }
        if dimension == Dimension::BrowserVersion {
            return Err("filter on visit:browser_version: one version at a time".into());
        }
        let values = clauses.iter().map(|v| value(&dimension, v)).collect();
        return Ok(Cond::AnyOf(dimension, values));
    }
    let raw = first.as_str();
    if let Dimension::Goal(_) = dimension {
        return match op {
            Op::Is if !raw.is_empty() => Ok(Cond::Filter(Filter {
                dimension,
                op: FilterOp::Is,
                value: raw.to_owned(),
            })),
            _ => Err("filter on event:goal: footfall matches a goal by its name only (is)".into()),
        };
    }
    if dimension == Dimension::BrowserVersion {
        // Stored as "Browser VERSION": the version at the end, after a space.
        return match op {
            Op::Is if !raw.is_empty() && !raw.contains('*') => Ok(Cond::Filter(Filter {
                dimension,
                op: FilterOp::Matches,
                value: format!("** {raw}"),
            })),
            _ => Err(
                "filter on visit:browser_version: footfall answers `is` with one version only"
                    .into(),
            ),
        };
    }
    let stored = value(&dimension, raw);
    let (op, value) = match op {
        Op::Is => (FilterOp::Is, stored),
        Op::FootfallContains => (FilterOp::Contains, stored),
        Op::Contains { .. } if stored.is_empty() => {
            return Err(format!(
                "filter on {property}: contains \"\" matches every value, set or not; leave it out"
            ));
        }
        Op::Contains {
            case_sensitive: true,
        } => {
            if stored.contains('*') {
                return Err(format!(
                    "filter on {property}: a case-sensitive contains with * cannot be answered"
                ));
            }
            (FilterOp::Matches, format!("**{stored}**"))
        }
        Op::Contains {
            case_sensitive: false,
        } => {
            if stored.chars().any(|c| !c.is_ascii() && c.is_alphabetic()) {
                return Err(format!(
                    "filter on {property}: footfall ignores case for ASCII letters only"
                ));
            }
            (FilterOp::Contains, stored)
        }
        Op::Wildcard => (FilterOp::Matches, wildcard(&stored)),
        Op::Regex => (
            FilterOp::Matches,
            regex_glob(&stored).map_err(|e| format!("filter on {property}: {e}"))?,
        ),
    };
    Ok(Cond::Filter(Filter {
        dimension,
        op,
        value,
    }))
}

fn value(dimension: &Dimension, raw: &str) -> String {
    dimension
        .stored_form(&names::value_in(dimension, raw))
        .into_owned()
}

/// Plausible's wildcard (every `*` any characters) as a glob.
fn wildcard(pattern: &str) -> String {
    let mut glob = String::with_capacity(pattern.len() + 4);
    let mut star = false;
    for c in pattern.chars() {
        if c == '*' {
            if !star {
                glob.push_str("**");
            }
            star = true;
        } else {
            glob.push(c);
            star = false;
        }
    }
    glob
}

/// A regular expression footfall's globs can say: optionally anchored, made of literal
/// characters (escaped with `\` where special), `.*` and `[^/]*`.
fn regex_glob(re: &str) -> Result<String, String> {
    let refuse = |what: &str| {
        Err(format!(
            "footfall matches regular expressions made of literals, .* and [^/]* only; {re:?} has {what}"
        ))
    };
    let (anchored_start, mut rest) = match re.strip_prefix('^') {
        Some(r) => (true, r),
        None => (false, re),
    };
    let anchored_end = rest.ends_with('$') && !rest.ends_with("\\$");
    if anchored_end {
        rest = &rest[..rest.len() - 1];
    }
    let mut glob = String::new();
    if !anchored_start {
        glob.push_str("**");
    }
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix(".*") {
            glob.push_str("**");
            rest = after;
        } else if let Some(after) = rest.strip_prefix("[^/]*") {
            glob.push('*');
            rest = after;
        } else if c == '\\' {
            let mut chars = rest[1..].chars();
            match chars.next() {
                Some('*') => return refuse("a literal *"),
                Some(e) if !e.is_alphanumeric() => {
                    glob.push(e);
                    rest = chars.as_str();
                }
                _ => return refuse("an escape class"),
            }
        } else if ".^$*+?()[]{}|".contains(c) {
            return refuse(&format!("{c:?}"));
        } else {
            glob.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !anchored_end {
        glob.push_str("**");
    }
    Ok(glob)
}

fn collect(conds: Vec<Cond>) -> Result<Where, String> {
    let mut out = Where::default();
    for cond in conds {
        match cond {
            Cond::Filter(f) => {
                if !out.filters.contains(&f) {
                    out.filters.push(f);
                }
            }
            Cond::AnyOf(dimension, values) => match &mut out.any_of {
                None => out.any_of = Some((dimension, values)),
                Some((d, kept)) if *d == dimension => kept.retain(|v| values.contains(v)),
                Some((d, _)) => {
                    return Err(format!(
                        "several values for both {} and {}: footfall answers one such OR, in a breakdown by it",
                        d.name(),
                        dimension.name()
                    ));
                }
            },
        }
    }
    if out.filters.len() > MAX_FILTERS {
        return Err(format!("at most {MAX_FILTERS} filters"));
    }
    Ok(out)
}

/// Plausible's v1 filter expression: `event:page==/blog;visit:country==DE`, with `|` between
/// alternatives (`\|` a literal bar), `*` wildcards, and footfall's `~` (contains).
pub fn parse_v1(expression: &str) -> Result<Where, String> {
    let mut conds = Vec::new();
    for piece in expression
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if piece.contains("!=") {
            return Err(format!(
                "{piece:?}: != (is not) cannot be answered exactly: footfall's filters select, they do not exclude"
            ));
        }
        let (property, op, raw) = if let Some((p, v)) = piece.split_once("==") {
            (p.trim(), Op::Is, v.trim())
        } else if let Some((p, v)) = piece.split_once('~') {
            (p.trim(), Op::FootfallContains, v.trim())
        } else {
            return Err(format!(
                "{piece:?} must look like event:page==/blog or visit:country==DE"
            ));
        };
        let alternatives = split_bars(raw);
        let wild = raw.contains('*');
        let cond = match (op, wild, alternatives.len()) {
            (Op::Is, true, 1) => simple(property, Op::Wildcard, &alternatives)?,
            (Op::Is, true, _) => {
                return Err(format!(
                    "{piece:?}: a wildcard with | alternatives is an OR footfall cannot answer"
                ));
            }
            _ => simple(property, op, &alternatives)?,
        };
        conds.push(cond);
    }
    collect(conds)
}

/// `a|b\|c` → `["a", "b|c"]`.
fn split_bars(raw: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                parts.last_mut().map(|p| p.push('|')).unwrap_or_default();
            }
            '|' => parts.push(String::new()),
            c => parts.last_mut().map(|p| p.push(c)).unwrap_or_default(),
        }
    }
    parts
}

/// Plausible's v2 `filters`: a list (an implicit `and`) of `[op, dimension, clauses, modifiers?]`
/// and `["and"|"or", [...]]`, `["not", filter]`.
pub fn parse_v2(filters: &Value) -> Result<Where, String> {
    let list = filters
        .as_array()
        .ok_or("filters must be a list of filters, as [[\"is\", \"event:page\", [\"/blog\"]]]")?;
    let mut conds = Vec::new();
    for f in list {
        conds.extend(v2_node(f)?);
    }
    collect(conds)
}

fn v2_node(node: &Value) -> Result<Vec<Cond>, String> {
    let parts = node.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
        format!("filter {node} must be a list such as [\"is\", \"event:page\", [\"/blog\"]]")
    })?;
    let op = parts[0]
        .as_str()
        .ok_or_else(|| format!("filter {node}: the operator must be a string"))?;
    match op {
        "and" | "or" => {
            let children = parts
                .get(1)
                .and_then(Value::as_array)
                .filter(|c| !c.is_empty() && parts.len() == 2)
                .ok_or_else(|| {
                    format!("filter {node}: {op} takes one non-empty list of filters")
                })?;
            let mut conds = Vec::new();
            for c in children {
                conds.extend(v2_node(c)?);
            }
            if op == "and" || conds.len() == 1 {
                return Ok(conds);
            }
            // An OR of `is` filters on one dimension is one `is` with their values.
            let mut union: Option<(Dimension, Vec<String>)> = None;
            for cond in conds {
                let (d, values) = match cond {
                    Cond::Filter(Filter {
                        dimension,
                        op: FilterOp::Is,
                        value,
                    }) => (dimension, vec![value]),
                    Cond::AnyOf(d, values) => (d, values),
                    Cond::Filter(_) => {
                        return Err(format!(
                            "filter {node}: footfall answers an or of `is` filters on one dimension only"
                        ));
                    }
                };
                match &mut union {
                    None => union = Some((d, values)),
                    Some((kept, all)) if *kept == d => all.extend(values),
                    Some(_) => {
                        return Err(format!(
                            "filter {node}: an or across dimensions cannot be answered exactly"
                        ));
                    }
                }
            }
            Ok(union
                .map(|(d, v)| vec![Cond::AnyOf(d, v)])
                .unwrap_or_default())
        }
        "not" => match parts.get(1).and_then(Value::as_array) {
            Some(inner)
                if parts.len() == 2 && inner.first().and_then(Value::as_str) == Some("not") =>
            {
                let again = inner
                    .get(1)
                    .filter(|_| inner.len() == 2)
                    .ok_or_else(|| format!("filter {node}: not takes one filter"))?;
                v2_node(again)
            }
            _ => Err(format!(
                "filter {node}: not cannot be answered exactly: footfall's filters select, they do not exclude"
            )),
        },
        "is" | "contains" | "matches" | "matches_wildcard" => {
            let property = parts
                .get(1)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("filter {node}: the dimension must be a string"))?;
            if property == "segment" {
                return Err(format!(
                    "filter {node}: segment filters are not supported here; use segment=ID on /api/v1/stats"
                ));
            }
            let clauses = parts
                .get(2)
                .and_then(Value::as_array)
                .ok_or_else(|| format!("filter {node}: the values must be a list"))?
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(format!("filter {node}: value {other} is not a string")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let case_sensitive = match parts.get(3) {
                None => true,
                Some(m) => {
                    let m = m.as_object().filter(|_| parts.len() == 4).ok_or_else(|| {
                        format!("filter {node}: modifiers must be an object such as {{\"case_sensitive\": false}}")
                    })?;
                    if let Some(key) = m.keys().find(|k| *k != "case_sensitive") {
                        return Err(format!("filter {node}: unknown modifier {key:?}"));
                    }
                    match m.get("case_sensitive") {
                        None => true,
                        Some(Value::Bool(b)) => *b,
                        Some(_) => {
                            return Err(format!("filter {node}: case_sensitive is true or false"));
                        }
                    }
                }
            };
            let op = match (op, case_sensitive) {
                ("is", true) => Op::Is,
                ("contains", cs) => Op::Contains { case_sensitive: cs },
                ("matches", true) => Op::Regex,
                ("matches_wildcard", true) => Op::Wildcard,
                (op, _) => {
                    return Err(format!(
                        "filter {node}: {op} ignoring case cannot be answered exactly"
                    ));
                }
            };
            if parts.len() > 4 {
                return Err(format!("filter {node}: too many parts"));
            }
            Ok(vec![simple(property, op, &clauses)?])
        }
        "is_not" | "contains_not" | "matches_not" | "matches_wildcard_not" | "has_not_done" => {
            Err(format!(
                "filter {node}: {op} cannot be answered exactly: footfall's filters select, they do not exclude"
            ))
        }
        "has_done" => Err(format!("filter {node}: has_done is not supported")),
        other => Err(format!("filter {node}: unknown operator {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(d: Dimension, op: FilterOp, v: &str) -> Filter {
        Filter {
            dimension: d,
            op,
            value: v.into(),
        }
    }

    #[test]
    fn v1_expressions_become_footfall_filters() {
        let w = parse_v1("event:page==/blog;visit:country==DE").unwrap_or_default();
        assert_eq!(
            w.filters,
            vec![
                f(Dimension::Page, FilterOp::Is, "/blog"),
                f(Dimension::Country, FilterOp::Is, "DE")
            ]
        );
        let w = parse_v1("event:page==/blog/*").unwrap_or_default();
        assert_eq!(
            w.filters,
            vec![f(Dimension::Page, FilterOp::Matches, "/blog/**")]
        );
        let w = parse_v1("visit:source==Google|Bing").unwrap_or_default();
        assert_eq!(
            w.any_of,
            Some((Dimension::Source, vec!["Google".into(), "Bing".into()]))
        );
        let w = parse_v1("visit:utm_campaign==a\\|b").unwrap_or_default();
        assert_eq!(
            w.filters,
            vec![f(Dimension::UtmCampaign, FilterOp::Is, "a|b")]
        );
        let w = parse_v1("visit:device==Mobile;event:page~PRICING").unwrap_or_default();
        assert_eq!(
            w.filters,
            vec![
                f(Dimension::Device, FilterOp::Is, "mobile"),
                f(Dimension::Page, FilterOp::Contains, "PRICING")
            ]
        );
        for bad in [
            "visit:country!=FR",
            "event:page=/blog",
            "visit:planet==Mars",
            "event:page==/a*|/b",
            "visit:country_name==Germany",
            "visit:source==A|B;visit:country==DE|FR",
            &format!("event:page=={}", "x".repeat(2049)),
        ] {
            assert!(parse_v1(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn v2_filters_translate_exactly_or_are_refused() {
        let ok = |v: Value| parse_v2(&v).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(
            ok(json!([["contains", "event:page", ["pricing"]]])).filters,
            vec![f(Dimension::Page, FilterOp::Matches, "**pricing**")]
        );
        assert_eq!(
            ok(json!([["contains", "event:page", ["PRICING"], {"case_sensitive": false}]])).filters,
            vec![f(Dimension::Page, FilterOp::Contains, "PRICING")]
        );
        assert_eq!(
            ok(json!([["matches", "event:page", ["^/blog/.*$"]]])).filters,
            vec![f(Dimension::Page, FilterOp::Matches, "/blog/**")]
        );
        assert_eq!(
            ok(json!([[
                "matches",
                "event:page",
                ["^/docs/[^/]*/install\\.html"]
            ]]))
            .filters,
            vec![f(
                Dimension::Page,
                FilterOp::Matches,
                "/docs/*/install.html**"
            )]
        );
        assert_eq!(
            ok(json!([[
                "and",
                [
                    ["is", "visit:source", ["Google"]],
                    ["not", ["not", ["is", "visit:country", ["DE"]]]]
                ]
            ]]))
            .filters,
            vec![
                f(Dimension::Source, FilterOp::Is, "Google"),
                f(Dimension::Country, FilterOp::Is, "DE")
            ]
        );
        assert_eq!(
            ok(json!([[
                "or",
                [
                    ["is", "visit:source", ["Google"]],
                    ["is", "visit:source", ["Bing"]]
                ]
            ]]))
            .any_of,
            Some((Dimension::Source, vec!["Google".into(), "Bing".into()]))
        );
        assert_eq!(
            ok(json!([["is", "visit:browser_version", ["18"]]])).filters,
            vec![f(Dimension::BrowserVersion, FilterOp::Matches, "** 18")]
        );
        for bad in [
            json!([["is_not", "event:page", ["/"]]]),
            json!([["not", ["is", "event:page", ["/"]]]]),
            json!([[
                "or",
                [
                    ["is", "visit:source", ["Google"]],
                    ["is", "visit:country", ["DE"]]
                ]
            ]]),
            json!([["matches", "event:page", ["^/user/\\d+$"]]]),
            json!([["contains", "event:page", ["über"], {"case_sensitive": false}]]),
            json!([["is", "event:page", ["/"], {"case_sensitive": false}]]),
            json!([["has_done", ["is", "event:name", ["Signup"]]]]),
            json!([["is", "event:page", "/"]]),
            json!({"is": "x"}),
        ] {
            assert!(parse_v2(&bad).is_err(), "{bad}");
        }
    }
}
