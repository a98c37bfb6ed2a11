//! STUB
pub struct Referrer {
    pub source: String,
    pub url: String,
}
pub fn source(referrer: &str, site_domain: &str) -> Option<Referrer> {
    let u = url::Url::parse(referrer).ok()?;
    let h = u.host_str()?.trim_start_matches("www.").to_owned();
    if h == site_domain || h.ends_with(&format!(".{site_domain}")) {
        return None;
    }
    Some(Referrer {
        source: h,
        url: referrer.to_owned(),
    })
}
