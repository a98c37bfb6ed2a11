//! A site's goals on its settings page: the list, each with a Remove button, and the form that
//! adds one (a pageview's path pattern, or a custom event with an optional prop). What makes a
//! definition valid is `stats::goal`'s to say; the dashboard's Goals table counts conversions.

use super::params;
use crate::domain::Site;
use crate::stats::goal::{self, Goal};

/// A goal's line on the settings page.
pub struct GoalRow {
    pub name: String,
    /// What converts, in words (`Goal::describe`).
    pub target: String,
    /// The dashboard filtered to the visits that converted.
    pub href: String,
}

pub fn rows(site: &Site, goals: &[Goal]) -> Vec<GoalRow> {
    goals
        .iter()
        .map(|g| {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("f", &params::format_filter(&goal::converted(g)))
                .finish();
            GoalRow {
                name: g.name.clone(),
                target: g.describe_all(),
                href: format!("/sites/{}?{query}", site.domain),
            }
        })
        .collect()
}

/// The add form's fields as typed, so that a refused goal comes back as it was sent. Only the
/// fields of the chosen `kind` are read. Missing fields are empty: the goal's checks name them.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct GoalForm {
    pub name: String,
    /// `page` or `event`.
    pub kind: String,
    pub path: String,
    pub event: String,
    /// `KEY=VALUE`, or empty for none.
    pub prop: String,
    /// A revenue goal's currency (event goals), or empty for none.
    pub currency: String,
}

impl GoalForm {
    /// The empty form, with a pageview goal chosen.
    pub fn blank() -> Self {
        Self {
            kind: "page".to_owned(),
            ..Self::default()
        }
    }

    /// The goal this form defines, or what is wrong with it.
    pub fn goal(&self) -> Result<Goal, String> {
        let goal = match self.kind.as_str() {
            "page" => Goal::page(&self.name, &self.path),
            "event" => {
                let prop = self.prop.trim();
                let goal = Goal::event(&self.name, &self.event, (!prop.is_empty()).then_some(prop));
                match self.currency.trim() {
                    "" => goal,
                    currency => goal.and_then(|g| g.with_revenue(currency)),
                }
            }
            "" => return Err("choose what converts: a pageview or a custom event".to_owned()),
            other => {
                return Err(format!(
                    "a goal's kind is page (a pageview) or event (a custom event), not {other:?}"
                ));
            }
        };
        goal.map_err(|e| e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::GoalForm;

    fn form(kind: &str, path: &str, event: &str, prop: &str) -> GoalForm {
        GoalForm {
            name: "Goal".into(),
            kind: kind.into(),
            path: path.into(),
            event: event.into(),
            prop: prop.into(),
            currency: String::new(),
        }
    }

    #[test]
    fn the_form_reads_only_the_fields_of_its_kind() {
        let page = form("page", "/thanks", "Signup", "not a prop");
        assert_eq!(
            page.goal().map(|g| g.describe()),
            Ok("pageview /thanks".into())
        );
        let event = form("event", "not a path", "Signup", " ");
        assert_eq!(
            event.goal().map(|g| g.describe()),
            Ok("event Signup".into())
        );
        let prop = form("event", "", "Signup", "plan=pro");
        assert_eq!(
            prop.goal().map(|g| g.describe()),
            Ok("event Signup (plan = pro)".into())
        );
        let sales = GoalForm {
            currency: " eur ".into(),
            ..form("event", "", "Purchase", "")
        };
        assert_eq!(
            sales.goal().map(|g| g.describe_all()),
            Ok("event Purchase, revenue in EUR".into())
        );
        let page = GoalForm {
            currency: "EUR".into(),
            ..form("page", "/thanks", "", "")
        };
        assert_eq!(page.goal().map(|g| g.currency), Ok(None));
    }

    #[test]
    fn a_form_without_a_known_kind_says_so() {
        let err = |kind: &str| form(kind, "/x", "", "").goal().err().unwrap_or_default();
        assert!(err("").contains("choose what converts"));
        assert!(err("funnel").contains("not \"funnel\""));
    }
}
