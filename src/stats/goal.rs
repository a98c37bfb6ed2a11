//! Goals: what a site owner wants visitors to do, evaluated at query time over stored events (so
//! a goal added today shows its history). A pageview goal is a path pattern (`/thanks`,
//! `/blog/**`; `stats::glob`); a custom event goal is an event name, optionally with one prop
//! equal to a value. Each becomes the filters that find its conversions (`Goal::filters`).

use super::{Dimension, Filter, FilterOp};
use crate::domain::{EventName, Invalid, currency_code, is_hidden_char};

/// Longest goal name, in characters.
pub const MAX_NAME: usize = 60;
/// Longest path pattern or prop value, in characters (as a filter value).
pub const MAX_VALUE: usize = 2048;

/// What converts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoalTarget {
    /// A pageview whose path matches the pattern.
    Page(String),
    /// A custom event of this name, with this prop equal to this value if given.
    Event {
        name: EventName,
        prop: Option<(String, String)>,
    },
}

/// A goal as defined: its display name and what converts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goal {
    pub name: String,
    pub target: GoalTarget,
    /// A revenue goal (custom events only): the ISO 4217 currency whose amounts it sums.
    pub currency: Option<String>,
}

fn text(what: &str, value: &str, max: usize) -> Result<String, Invalid> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Invalid(format!("the goal's {what} is empty")));
    }
    if value.chars().count() > max {
        return Err(Invalid(format!(
            "the goal's {what} is longer than {max} characters"
        )));
    }
    if value.chars().any(is_hidden_char) || value.contains('\0') {
        return Err(Invalid(format!(
            "the goal's {what} contains control or invisible characters"
        )));
    }
    Ok(value.to_owned())
}

impl Goal {
    /// A pageview goal: `pattern` is a path (`/thanks`) or a pattern with `*` (within a path
    /// segment) and `**` (across them).
    pub fn page(name: &str, pattern: &str) -> Result<Self, Invalid> {
        let name = text("name", name, MAX_NAME)?;
        let pattern = text("path", pattern, MAX_VALUE)?;
        if !pattern.starts_with('/') {
            return Err(Invalid(format!(
                "the goal's path must start with / (as /thanks or /blog/**), not {pattern:?}"
            )));
        }
        if pattern.contains("***") {
            return Err(Invalid(
                "the goal's path has *** : use * for one path segment, ** for any".into(),
            ));
        }
        Ok(Self {
            name,
            target: GoalTarget::Page(pattern),
            currency: None,
        })
    }

    /// A custom event goal, optionally with one prop `KEY=VALUE`.
    pub fn event(name: &str, event: &str, prop: Option<&str>) -> Result<Self, Invalid> {
        let name = text("name", name, MAX_NAME)?;
        let event =
            EventName::parse(event).map_err(|e| Invalid(format!("the goal's event: {}", e.0)))?;
        if event.is_pageview() {
            return Err(Invalid(
                "a pageview goal is a path: give the goal a path (as /thanks) instead".into(),
            ));
        }
        let prop = match prop {
            None => None,
            Some(pair) => {
                let (key, value) = pair.split_once('=').ok_or_else(|| {
                    Invalid(format!("the goal's prop must be KEY=VALUE, not {pair:?}"))
                })?;
                Some((
                    text("prop key", key, 300)?,
                    text("prop value", value, MAX_VALUE)?,
                ))
            }
        };
        Ok(Self {
            name,
            target: GoalTarget::Event { name: event, prop },
            currency: None,
        })
    }

    /// This goal as a revenue goal in `currency` (an ISO 4217 code): its conversions' amounts
    /// in that currency are summed (`"$"` on the event, see `domain::Revenue`). Custom event
    /// goals only: a pageview carries no revenue.
    pub fn with_revenue(mut self, currency: &str) -> Result<Self, Invalid> {
        if matches!(self.target, GoalTarget::Page(_)) {
            return Err(Invalid(
                "a revenue goal counts the revenue of a custom event (as Purchase): give the goal \
                 an event, not a path"
                    .into(),
            ));
        }
        let code = currency_code(currency.trim()).ok_or_else(|| {
            Invalid(format!(
                "the goal's currency must be an ISO 4217 code such as EUR, not {currency:?}"
            ))
        })?;
        self.currency = Some(code);
        Ok(self)
    }

    /// The filters whose events are this goal's conversions.
    pub fn filters(&self) -> Vec<Filter> {
        let is = |dimension, value: &str| Filter {
            dimension,
            op: FilterOp::Is,
            value: value.to_owned(),
        };
        match &self.target {
            GoalTarget::Page(pattern) => vec![
                is(Dimension::EventName, EventName::PAGEVIEW),
                Filter {
                    dimension: Dimension::Page,
                    op: FilterOp::Matches,
                    value: pattern.clone(),
                },
            ],
            GoalTarget::Event { name, prop } => {
                let mut filters = vec![is(Dimension::EventName, name.as_str())];
                if let Some((key, value)) = prop {
                    filters.push(is(Dimension::Prop(key.clone()), value));
                }
                filters
            }
        }
    }

    /// What it is, in words: `pageview /blog/**`, `event Signup (plan = pro)`.
    pub fn describe(&self) -> String {
        match &self.target {
            GoalTarget::Page(pattern) => format!("pageview {pattern}"),
            GoalTarget::Event { name, prop: None } => format!("event {}", name.as_str()),
            GoalTarget::Event {
                name,
                prop: Some((k, v)),
            } => format!("event {} ({k} = {v})", name.as_str()),
        }
    }

    /// `describe` with the currency of a revenue goal: `event Purchase, revenue in EUR`.
    pub fn describe_all(&self) -> String {
        match &self.currency {
            Some(c) => format!("{}, revenue in {c}", self.describe()),
            None => self.describe(),
        }
    }
}

/// Fills in the goal filters (`goal:is:NAME`) among `filters` with the conversion filters of
/// `goals`, the site's; `Err` names a goal the site does not have.
pub fn resolve(filters: &mut [Filter], goals: &[Goal], site: &str) -> Result<(), String> {
    for filter in filters {
        if let Dimension::Goal(conversions) = &mut filter.dimension {
            let goal = goals
                .iter()
                .find(|g| g.name == filter.value)
                .ok_or_else(|| {
                    format!(
                        "{site} has no goal named {:?} (its goals: {})",
                        filter.value,
                        if goals.is_empty() {
                            "none yet".to_owned()
                        } else {
                            goals
                                .iter()
                                .map(|g| g.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    )
                })?;
            *conversions = goal.filters();
        }
    }
    Ok(())
}

/// The filter of the visits that converted on `goal` (`goal:is:NAME`, resolved).
pub fn converted(goal: &Goal) -> Filter {
    Filter {
        dimension: Dimension::Goal(goal.filters()),
        op: FilterOp::Is,
        value: goal.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_goals_say_what_is_wrong() {
        let err = |r: Result<Goal, Invalid>| r.err().map(|e| e.0).unwrap_or_default();
        assert!(err(Goal::page("", "/x")).contains("name is empty"));
        assert!(err(Goal::page("Blog", "blog/**")).contains("must start with /"));
        assert!(err(Goal::page("Blog", "/a/***")).contains("***"));
        assert!(err(Goal::page(&"n".repeat(61), "/x")).contains("longer than 60"));
        assert!(err(Goal::page("A\u{200B}", "/x")).contains("invisible"));
        assert!(err(Goal::event("Signup", "", None)).contains("event"));
        assert!(err(Goal::event("Views", "pageview", None)).contains("pageview goal is a path"));
        assert!(err(Goal::event("Pro", "Signup", Some("plan"))).contains("KEY=VALUE"));
        assert!(err(Goal::event("Pro", "Signup", Some("=pro"))).contains("prop key is empty"));
    }

    #[test]
    fn a_goal_is_the_filters_of_its_conversions() {
        let blog = Goal::page("Blog", " /blog/** ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(blog.describe(), "pageview /blog/**");
        assert_eq!(blog.filters()[1].op, FilterOp::Matches);
        let pro = Goal::event("Pro", "Signup", Some("plan=pro")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pro.describe(), "event Signup (plan = pro)");
        assert_eq!(pro.filters().len(), 2);
        assert_eq!(pro.filters()[1].dimension, Dimension::Prop("plan".into()));
    }
}
