//! Funnels: 2–8 goals in order. A visit counts at step k when it converted on steps 1..k in that
//! order within the visit — other events may come between, one event counts for one step, and
//! steps in different visits do not add up. Each step's figure is its visitors: distinct per
//! day as everywhere in footfall (`stats`), a visit being of the day it converted on step 1.
//!
//! The view's filters choose the visits: visit-level filters as usual, and event-level ones
//! (`page`, `event_name`, props) keep the visits with a matching event in the range
//! (`visits_of_view`), whose every event then counts for the steps. Both paths of the store
//! (`store::engine` and raw rows) walk a visit's events in time order through `Walk`, so they
//! agree by construction on what "in order" means.

use super::goal::Goal;
use super::{Dimension, Filter, FilterOp};
use std::collections::HashSet;

/// Fewest and most steps of a funnel.
pub const MIN_STEPS: usize = 2;
pub const MAX_STEPS: usize = 8;

/// The steps of a funnel from goal names, each one of `goals` (the site's); a name may come back
/// (a goal reached twice). `Err` says what is wrong, in words for a person.
pub fn steps(names: &[String], goals: &[Goal], site: &str) -> Result<Vec<Goal>, String> {
    if !(MIN_STEPS..=MAX_STEPS).contains(&names.len()) {
        return Err(format!(
            "a funnel has {MIN_STEPS} to {MAX_STEPS} steps, each a goal of {site} (got {})",
            names.len()
        ));
    }
    names
        .iter()
        .map(|name| {
            goals
                .iter()
                .find(|g| g.name == *name)
                .cloned()
                .ok_or_else(|| {
                    let known: Vec<&str> = goals.iter().map(|g| g.name.as_str()).collect();
                    format!(
                        "{site} has no goal named {name:?} (its goals: {})",
                        if known.is_empty() {
                            "none yet: add some first".to_owned()
                        } else {
                            known.join(", ")
                        }
                    )
                })
        })
        .collect()
}

/// The view's filters as a funnel reads them: the event-level ones become one filter of the
/// visits with an event matching them all (as `goal:is:…` is), so that every event of the
/// chosen visits counts for the steps.
pub fn visits_of_view(filters: &[Filter]) -> Vec<Filter> {
    let (visit, event): (Vec<&Filter>, Vec<&Filter>) =
        filters.iter().partition(|f| f.dimension.is_session_level());
    let mut out: Vec<Filter> = visit.into_iter().cloned().collect();
    if !event.is_empty() {
        out.push(Filter {
            dimension: Dimension::Goal(event.into_iter().cloned().collect()),
            op: FilterOp::Is,
            value: "(the view's event filters)".into(),
        });
    }
    out
}

/// One visit's way through the steps, fed its events in time order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Walk {
    /// Steps reached so far.
    reached: usize,
    /// (day, visitor) of the visit where it reached step 1.
    visitor: Option<(i64, i64)>,
}

impl Walk {
    /// The next event of the visit, on local `day`, of `visitor` (an id distinct within the
    /// day), passing the steps for which `passes(step)` holds. An event counts for one step:
    /// the next one the visit needs.
    pub fn event(&mut self, steps: usize, day: i64, visitor: i64, passes: impl Fn(usize) -> bool) {
        if self.reached < steps && passes(self.reached) {
            if self.reached == 0 {
                self.visitor = Some((day, visitor));
            }
            self.reached += 1;
        }
    }

    pub fn done(&self, steps: usize) -> bool {
        self.reached >= steps
    }
}

/// The visitors of each step, added up over the visits' walks.
#[derive(Debug, Clone)]
pub struct Tally {
    reached: Vec<HashSet<(i64, i64)>>,
}

impl Tally {
    pub fn new(steps: usize) -> Self {
        Self {
            reached: vec![HashSet::new(); steps],
        }
    }

    /// A visit's walk, once it has seen all its events.
    pub fn add(&mut self, walk: &Walk) {
        if let Some(visitor) = walk.visitor {
            for step in &mut self.reached[..walk.reached] {
                step.insert(visitor);
            }
        }
    }

    /// Visitors per step, first step first.
    pub fn visitors(&self) -> Vec<i64> {
        self.reached.iter().map(|s| s.len() as i64).collect()
    }
}

/// A step as shown: its goal, visitors, share of the first step and drop-off from the previous.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub goal: String,
    pub visitors: i64,
    /// Percent of the first step's visitors (100 for the first; 0 when it has none).
    pub of_first: f64,
    /// Visitors lost since the previous step (0 for the first).
    pub dropped: i64,
    /// `dropped` as a percent of the previous step's visitors (0 for the first).
    pub drop_off: f64,
}

/// Percent, one decimal; 0 of nothing.
fn percent(part: i64, whole: i64) -> f64 {
    if whole > 0 {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    } else {
        0.0
    }
}

/// The steps with their figures, from the visitors per step.
pub fn figures(steps: &[Goal], visitors: &[i64]) -> Vec<Step> {
    let first = visitors.first().copied().unwrap_or(0);
    steps
        .iter()
        .zip(visitors)
        .enumerate()
        .map(|(i, (goal, &n))| {
            let previous = if i == 0 { n } else { visitors[i - 1] };
            let dropped = (previous - n).max(0);
            Step {
                goal: goal.name.clone(),
                visitors: n,
                of_first: if i == 0 && n > 0 {
                    100.0
                } else {
                    percent(n, first)
                },
                dropped,
                drop_off: if i == 0 {
                    0.0
                } else {
                    percent(dropped, previous)
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(steps: usize, events: &[&[usize]]) -> usize {
        let mut w = Walk::default();
        for passes in events {
            w.event(steps, 0, 1, |s| passes.contains(&s));
        }
        w.reached
    }

    #[test]
    fn a_visit_reaches_the_steps_it_converted_on_in_order() {
        // Steps: 0, 1, 2. Events in between do not break the order.
        assert_eq!(walk(3, &[&[0], &[], &[1], &[2]]), 3);
        // Out of order: step 1 before step 0 does not count.
        assert_eq!(walk(3, &[&[1], &[0], &[2]]), 1);
        // One event counts for one step, even when it passes two.
        assert_eq!(walk(2, &[&[0, 1]]), 1);
        assert_eq!(walk(2, &[&[0, 1], &[0, 1]]), 2);
        // Nothing reached, nothing counted.
        let mut tally = Tally::new(2);
        tally.add(&Walk::default());
        assert_eq!(tally.visitors(), [0, 0]);
    }

    #[test]
    fn visitors_are_distinct_per_day_and_step() {
        let mut tally = Tally::new(2);
        for (day, visitor, reaches) in [(1, 7, 2), (1, 7, 1), (2, 7, 1), (1, 8, 0)] {
            let mut w = Walk::default();
            for step in 0..reaches {
                w.event(2, day, visitor, |s| s == step);
            }
            tally.add(&w);
        }
        assert_eq!(tally.visitors(), [2, 1]);
    }

    #[test]
    fn figures_give_shares_and_drop_offs() {
        let goal = |name: &str| Goal::page(name, "/").unwrap_or_else(|e| panic!("{e}"));
        let steps = [goal("a"), goal("b"), goal("c")];
        let f = figures(&steps, &[8, 2, 0]);
        assert_eq!(
            (f[0].of_first, f[0].dropped, f[0].drop_off),
            (100.0, 0, 0.0)
        );
        assert_eq!(
            (f[1].of_first, f[1].dropped, f[1].drop_off),
            (25.0, 6, 75.0)
        );
        assert_eq!(
            (f[2].of_first, f[2].dropped, f[2].drop_off),
            (0.0, 2, 100.0)
        );
        let empty = figures(&steps, &[0, 0, 0]);
        assert!(empty.iter().all(|s| s.of_first == 0.0 && s.drop_off == 0.0));
    }

    #[test]
    fn steps_are_goals_of_the_site() {
        let goals = vec![Goal::page("Pricing", "/pricing").unwrap_or_else(|e| panic!("{e}"))];
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(steps(&names(&["Pricing", "Pricing"]), &goals, "x").is_ok());
        let one = steps(&names(&["Pricing"]), &goals, "x")
            .err()
            .unwrap_or_default();
        assert!(one.contains("2 to 8 steps"), "{one}");
        let unknown = steps(&names(&["Pricing", "Nope"]), &goals, "x")
            .err()
            .unwrap_or_default();
        assert!(unknown.contains("no goal named \"Nope\""), "{unknown}");
    }
}
