//! The collection body as it arrives. footfall's tracker sends the short fields of the collection
//! contract (`n`, `u`, `d`, `r`, `w`, `h`, `p`, `$`); Plausible's trackers and server-side
//! senders use the same short names, their long forms (`name`, `url`, `domain`, `referrer`,
//! `screen_width`, `hashMode`, `props`, `revenue`), and props as a JSON string (`m`/`meta` in
//! older trackers, `p` too). `Payload::fields` resolves them into one set, the first present
//! in Plausible's order winning. Fields nobody here knows are ignored, never refused.

use super::error::CollectError;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The JSON body. Strings borrow from the request body. Public for `examples/ceiling.rs`, which
/// measures parsing it and nothing else.
#[derive(Debug, Deserialize)]
pub struct Payload<'a> {
    #[serde(borrow, default)]
    n: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    u: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    url: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    d: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    domain: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    r: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    referrer: Option<Cow<'a, str>>,
    #[serde(default)]
    w: Option<f64>,
    #[serde(default)]
    screen_width: Option<f64>,
    /// Hash mode: 1 keeps the URL's fragment in the stored path (as Plausible's `h`).
    #[serde(borrow, default)]
    h: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "hashMode")]
    hash_mode: Option<&'a RawValue>,
    /// Plausible's "interactive" flag; footfall counts every event alike, so it is checked and
    /// otherwise ignored.
    #[serde(default)]
    i: Option<Value>,
    #[serde(default)]
    interactive: Option<Value>,
    #[serde(default)]
    m: Option<Value>,
    #[serde(default)]
    meta: Option<Value>,
    #[serde(default)]
    p: Option<Value>,
    #[serde(default)]
    props: Option<Value>,
    /// Revenue, `{"amount": 12.5, "currency": "EUR"}`; `null` is the same as absent (what
    /// `JSON.stringify` makes of an unset option).
    #[serde(rename = "$", default)]
    dollar: Option<Value>,
    #[serde(default)]
    revenue: Option<Value>,
    /// Engaged milliseconds and scroll depth (percent) of an engagement update, as written (see
    /// `Figures::parse`); Plausible's tracker names scroll depth `sd`.
    #[serde(borrow, default)]
    e: Option<&'a RawValue>,
    #[serde(borrow, default)]
    s: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sd: Option<&'a RawValue>,
}

/// A body's values, whichever names carried them.
#[derive(Debug)]
pub struct Fields<'p> {
    pub name: &'p str,
    pub url: &'p str,
    pub domain: &'p str,
    pub referrer: Option<&'p str>,
    pub width: Option<f64>,
    /// Whether the fragment of `url` belongs to the page (hash-based routing).
    pub hash_mode: bool,
    pub props: Option<Cow<'p, Map<String, Value>>>,
    pub revenue: Option<&'p Value>,
    pub engaged: Option<&'p RawValue>,
    pub scroll: Option<&'p RawValue>,
}

fn missing(field: &str, what: &str, long: &str) -> CollectError {
    CollectError::InvalidJson(format!(
        "missing field `{field}` ({what}; `{long}` is accepted too)"
    ))
}

impl<'a> Payload<'a> {
    pub fn fields(&self) -> Result<Fields<'_>, CollectError> {
        let name = self
            .n
            .as_deref()
            .or(self.name.as_deref())
            .ok_or_else(|| missing("n", "event name", "name"))?;
        let url = self
            .u
            .as_deref()
            .or(self.url.as_deref())
            .ok_or_else(|| missing("u", "page URL", "url"))?;
        let domain = self
            .d
            .as_deref()
            .or(self.domain.as_deref())
            .ok_or_else(|| missing("d", "the site's domain", "domain"))?;
        if let Some(i) = self.i.as_ref().or(self.interactive.as_ref())
            && !i.is_boolean()
        {
            return Err(CollectError::InvalidField(
                "field i (interactive) must be true or false".into(),
            ));
        }
        Ok(Fields {
            name,
            url,
            domain,
            referrer: self.r.as_deref().or(self.referrer.as_deref()),
            width: self.w.or(self.screen_width),
            hash_mode: hash_mode(self.h.or(self.hash_mode))?,
            props: self.props()?,
            revenue: self.dollar.as_ref().or(self.revenue.as_ref()),
            engaged: self.e,
            scroll: self.s.or(self.sd),
        })
    }

    /// Props from the first of `m`, `meta`, `p`, `props` that is there (Plausible's order): an
    /// object, or a string holding one (`""` is no props, as Plausible reads it).
    fn props(&self) -> Result<Option<Cow<'_, Map<String, Value>>>, CollectError> {
        let candidates = [
            ("m", &self.m),
            ("meta", &self.meta),
            ("p", &self.p),
            ("props", &self.props),
        ];
        let Some((field, value)) = candidates
            .into_iter()
            .find_map(|(field, value)| value.as_ref().map(|v| (field, v)))
        else {
            return Ok(None);
        };
        let not_an_object = || {
            CollectError::InvalidField(format!(
                "field {field} (props) must be an object of flat values, or a JSON string of one"
            ))
        };
        match value {
            Value::Object(map) => Ok(Some(Cow::Borrowed(map))),
            Value::String(text) if text.trim().is_empty() => Ok(None),
            Value::String(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => Ok(Some(Cow::Owned(map))),
                _ => Err(not_an_object()),
            },
            _ => Err(not_an_object()),
        }
    }
}

/// `h` as Plausible's trackers send it (`1`), and as people might (`true`, `"1"`); `0`, `false`
/// and `null` are no hash mode.
fn hash_mode(raw: Option<&RawValue>) -> Result<bool, CollectError> {
    match raw.map(|r| r.get().trim()) {
        None | Some("0" | "false" | "null" | "\"0\"") => Ok(false),
        Some("1" | "true" | "\"1\"") => Ok(true),
        Some(_) => Err(CollectError::InvalidField(
            "field h (hash mode) must be 1 or 0".into(),
        )),
    }
}
