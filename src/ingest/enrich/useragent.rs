//! STUB (replaced by the real classifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceClass {
    Desktop,
    Mobile,
    Tablet,
}
impl DeviceClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Desktop => "desktop",
            Self::Mobile => "mobile",
            Self::Tablet => "tablet",
        }
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAgent {
    pub browser: &'static str,
    pub browser_version: String,
    pub os: &'static str,
    pub os_version: String,
    pub device: DeviceClass,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    Human(UserAgent),
    Bot,
}
pub fn classify(ua: &str) -> Classified {
    if ua.trim().is_empty() || ua.contains("bot") || ua.contains("Headless") {
        Classified::Bot
    } else {
        Classified::Human(UserAgent {
            browser: "Chrome",
            browser_version: "1".into(),
            os: "Linux",
            os_version: String::new(),
            device: DeviceClass::Desktop,
        })
    }
}
