//! The spool: where accepted events (and engagement updates) go when the database cannot take
//! them before the shutdown deadline (`--shutdown-timeout-secs`), and where the next start finds
//! them again.
//!
//! A spool file is text, one event or update per line, in queue order, every line after the header prefixed with a
//! checksum of itself, so a file cut short (a crash while writing it) or damaged on disk is read
//! back as far as it is sound, and what was lost is known:
//!
//! ```text
//! footfall-spool 1 EVENTS
//! HASH JSON          (HASH: the first 16 hex digits of the JSON's BLAKE3 hash)
//! …
//! ```
//!
//! Lines only ever gain fields, each optional and left out when unset, so a file written by an
//! older version reads as it was meant, and the header's version stays 1: `revenue`
//! (`[micros, "EUR"]`, custom events with `$` only) came in after the first release.
//!
//! An engagement update is a line of its own shape, `{"engagement":{"site":…,"at":…,
//! "visitor":…,"path":…,"engaged_ms":…,"scroll_depth":…}}`: files without one read as before,
//! and a version before engagement, which requires an event's fields, takes such a line for a
//! damaged one (it stores the file's events and keeps the file as `….damaged`) rather than for
//! an event.
//!
//! The writer replays a file in parts of at most one batch; each part is recorded in the
//! transaction that stores its events (`spool_replays`, keyed by file name and part), so a
//! restart in the middle of a replay never stores a part twice. A file is deleted once every part
//! is stored; a damaged one is renamed `….damaged` instead, for the operator to look at.

use crate::domain::{
    Engagement, Event, EventName, Figures, Hit, PagePath, Props, Revenue, SiteId, Utm, VisitorId,
};
use crate::ingest::enrich::useragent;
use chrono::{DateTime, Utc};
use std::fs::{self, File};
use std::io::{self, BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

const PREFIX: &str = "footfall-spool-";
const SUFFIX: &str = ".jsonl";
const HEADER: &str = "footfall-spool 1";

/// One event as a line of the file. The visitor id is stored, not the IP or user agent it was
/// made from: the spool holds exactly what the events table would.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Line {
    site: i64,
    at: DateTime<Utc>,
    visitor: i64,
    name: String,
    hostname: String,
    path: String,
    referrer: Option<String>,
    source: Option<String>,
    utm: [Option<String>; 5],
    browser: String,
    browser_version: String,
    os: String,
    os_version: String,
    device: String,
    country: Option<String>,
    region: Option<String>,
    city: Option<String>,
    viewport_width: Option<i32>,
    props: Vec<(String, String)>,
    /// Millionths and currency code; absent from files of versions before revenue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revenue: Option<(i64, String)>,
}

impl From<&Event> for Line {
    fn from(e: &Event) -> Self {
        Self {
            site: e.site_id.0,
            at: e.created_at,
            visitor: e.visitor_id.0,
            name: e.name.as_str().to_owned(),
            hostname: e.hostname.clone(),
            path: e.path.as_str().to_owned(),
            referrer: e.referrer.clone(),
            source: e.referrer_source.clone(),
            utm: [
                e.utm.source.clone(),
                e.utm.medium.clone(),
                e.utm.campaign.clone(),
                e.utm.content.clone(),
                e.utm.term.clone(),
            ],
            browser: e.browser.to_owned(),
            browser_version: e.browser_version.clone(),
            os: e.os.to_owned(),
            os_version: e.os_version.clone(),
            device: e.device.to_owned(),
            country: e.country.clone(),
            region: e.region.clone(),
            city: e.city.clone(),
            viewport_width: e.viewport_width,
            props: e.props.pairs().to_vec(),
            revenue: e
                .revenue
                .as_ref()
                .map(|r| (r.micros(), r.currency().to_owned())),
        }
    }
}

impl Line {
    /// Back to an event, with the checks the parser made (a line that passes its checksum was
    /// written by us, but the file is outside our control).
    fn into_event(self) -> Option<Event> {
        let [source, medium, campaign, content, term] = self.utm;
        let revenue = match self.revenue {
            Some((micros, currency)) => Some(Revenue::from_stored(micros, &currency).ok()?),
            None => None,
        };
        Some(Event {
            site_id: SiteId(self.site),
            created_at: self.at,
            visitor_id: VisitorId(self.visitor),
            name: EventName::parse(&self.name).ok()?,
            hostname: self.hostname,
            path: PagePath::parse(&self.path, None).ok()?,
            referrer: self.referrer,
            referrer_source: self.source,
            utm: Utm {
                source,
                medium,
                campaign,
                content,
                term,
            },
            browser: useragent::known_name(&self.browser).unwrap_or("Other"),
            browser_version: self.browser_version,
            os: useragent::known_name(&self.os).unwrap_or("Other"),
            os_version: self.os_version,
            device: useragent::known_name(&self.device).unwrap_or("desktop"),
            country: self.country,
            region: self.region,
            city: self.city,
            viewport_width: self.viewport_width,
            props: Props::from_pairs(self.props),
            revenue,
        })
    }
}

/// One engagement update as a line of the file (in its `engagement` object).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct EngagementLine {
    site: i64,
    at: DateTime<Utc>,
    visitor: i64,
    path: String,
    engaged_ms: i64,
    scroll_depth: i64,
}

/// A line of either shape; an event's is tried last, so that no update reads as an event.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum AnyLine {
    Engagement { engagement: EngagementLine },
    Event(Box<Line>),
}

impl From<&Hit> for AnyLine {
    fn from(hit: &Hit) -> Self {
        match hit {
            Hit::Event(e) => Self::Event(Box::new(Line::from(e))),
            Hit::Engagement(u) => Self::Engagement {
                engagement: EngagementLine {
                    site: u.site_id.0,
                    at: u.created_at,
                    visitor: u.visitor_id.0,
                    path: u.path.as_str().to_owned(),
                    engaged_ms: u.figures.engaged_ms(),
                    scroll_depth: i64::from(u.figures.scroll_depth()),
                },
            },
        }
    }
}

impl AnyLine {
    fn into_hit(self) -> Option<Hit> {
        match self {
            Self::Event(line) => line.into_event().map(Hit::Event),
            Self::Engagement { engagement: u } => Some(Hit::Engagement(Engagement {
                site_id: SiteId(u.site),
                created_at: u.at,
                visitor_id: VisitorId(u.visitor),
                path: PagePath::parse(&u.path, None).ok()?,
                figures: Figures::from_stored(u.engaged_ms, u.scroll_depth).ok()?,
            })),
        }
    }
}

fn checksum(json: &str) -> String {
    blake3::hash(json.as_bytes()).to_hex()[..16].to_owned()
}

/// Writes `events` (and updates) to a new spool file in `dir` (created if missing), flushed and fsynced
/// (file and directory) before it returns, and returns the file's path.
pub fn write(dir: &Path, events: &[Hit]) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let name = format!(
        "{PREFIX}{}-{:08x}{SUFFIX}",
        Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        rand::random::<u32>()
    );
    let path = dir.join(name);
    let file = File::options().write(true).create_new(true).open(&path)?;
    let mut out = BufWriter::new(file);
    writeln!(out, "{HEADER} {}", events.len())?;
    for event in events {
        let json = serde_json::to_string(&AnyLine::from(event)).map_err(io::Error::other)?;
        writeln!(out, "{} {json}", checksum(&json))?;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    // The new directory entry must be durable too, or the file can vanish in a crash.
    File::open(dir)?.sync_all()?;
    Ok(path)
}

/// The spool files waiting in `dir`, oldest first (names start with their creation time). A
/// missing directory holds none.
pub fn pending(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(PREFIX) && name.ends_with(SUFFIX) && entry.file_type()?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// What a spool file gave back.
#[derive(Debug)]
pub struct Spooled {
    /// The file's name: the key its replayed parts are recorded under.
    pub id: String,
    /// Events and engagement updates, in the order they were written.
    pub hits: Vec<Hit>,
    /// How many lines (events and updates) the header says the file holds (`None`: the header is unreadable).
    pub declared: Option<usize>,
    /// Line numbers (1-based) that failed their checksum or did not parse.
    pub damaged_lines: Vec<usize>,
}

impl Spooled {
    /// Every event the file was written with came back.
    pub fn is_whole(&self) -> bool {
        self.damaged_lines.is_empty() && self.declared == Some(self.hits.len())
    }

    /// Events written but not recovered (known only when the header is readable).
    pub fn lost(&self) -> Option<usize> {
        self.declared
            .map(|declared| declared.saturating_sub(self.hits.len()))
    }
}

/// Reads a spool file, keeping every line that is sound. Only an unreadable file is an error.
pub fn read(path: &Path) -> io::Result<Spooled> {
    let id = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let reader = io::BufReader::new(File::open(path)?);
    let mut spooled = Spooled {
        id,
        hits: Vec::new(),
        declared: None,
        damaged_lines: Vec::new(),
    };
    // Split on newlines by hand: a damaged file may hold bytes that are not UTF-8.
    for (i, line) in reader.split(b'\n').enumerate() {
        let line = line?;
        let number = i + 1;
        let text = String::from_utf8_lossy(&line);
        if i == 0 {
            spooled.declared = text
                .strip_prefix(HEADER)
                .and_then(|rest| rest.trim().parse().ok());
            if spooled.declared.is_none() {
                spooled.damaged_lines.push(number);
            }
            continue;
        }
        let event = text
            .split_once(' ')
            .filter(|(hash, json)| *hash == checksum(json))
            .and_then(|(_, json)| serde_json::from_str::<AnyLine>(json).ok())
            .and_then(AnyLine::into_hit);
        match event {
            Some(hit) => spooled.hits.push(hit),
            None => spooled.damaged_lines.push(number),
        }
    }
    Ok(spooled)
}

/// Puts a replayed file away: deleted when it was whole, renamed `….damaged` otherwise.
pub fn finish(path: &Path, whole: bool) -> io::Result<()> {
    if whole {
        fs::remove_file(path)
    } else {
        let mut damaged = path.as_os_str().to_owned();
        damaged.push(".damaged");
        fs::rename(path, damaged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(i: i64) -> Event {
        Event {
            site_id: SiteId(3),
            created_at: DateTime::from_timestamp(1_800_000_000 + i, 0).unwrap_or_default(),
            visitor_id: VisitorId(i * 7),
            name: EventName::parse(if i % 2 == 0 { "pageview" } else { "Signup" })
                .unwrap_or_else(|e| panic!("{e}")),
            hostname: "example.com".into(),
            path: PagePath::parse(&format!("/p/{i}"), Some("top"))
                .unwrap_or_else(|e| panic!("{e}")),
            referrer: Some("https://news.ycombinator.com/".into()),
            referrer_source: Some("Hacker News".into()),
            utm: Utm {
                source: Some("mail\n".into()),
                ..Utm::default()
            },
            browser: "Chrome WebView",
            browser_version: "131".into(),
            os: "Android",
            os_version: "14".into(),
            device: "mobile",
            country: Some("DE".into()),
            region: None,
            city: Some("Köln".into()),
            viewport_width: Some(412),
            props: Props::from_pairs(vec![("plan".into(), "pro \"x\"".into())]),
            // Custom events carry revenue, pageviews cannot.
            revenue: (i % 2 == 1).then(|| {
                Revenue::from_stored(19_990_000 * i, "EUR").unwrap_or_else(|e| panic!("{e}"))
            }),
        }
    }

    fn engagement(i: i64) -> Hit {
        Hit::Engagement(Engagement {
            site_id: SiteId(3),
            created_at: DateTime::from_timestamp(1_800_000_000 + i, 0).unwrap_or_default(),
            visitor_id: VisitorId(i * 7),
            path: PagePath::parse(&format!("/p/{i}"), Some("top"))
                .unwrap_or_else(|e| panic!("{e}")),
            figures: Figures::from_stored(1000 * i, i % 101).unwrap_or_else(|e| panic!("{e}")),
        })
    }

    fn hits(events: impl IntoIterator<Item = Event>) -> Vec<Hit> {
        events.into_iter().map(Hit::Event).collect()
    }

    #[test]
    fn events_and_updates_come_back_as_they_were_written() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // Every fifth line an engagement update, in between the events, as the queue had them.
        let events: Vec<Hit> = (0..50)
            .map(|i| {
                if i % 5 == 4 {
                    engagement(i)
                } else {
                    Hit::Event(event(i))
                }
            })
            .collect();
        let path = write(dir.path(), &events).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pending(dir.path()).ok(), Some(vec![path.clone()]));
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let update = text.lines().nth(5).unwrap_or_default();
        assert!(
            update.ends_with(r#"{"engagement":{"site":3,"at":"2027-01-15T08:00:04Z","visitor":28,"path":"/p/4#top","engaged_ms":4000,"scroll_depth":4}}"#),
            "{update}"
        );
        // A version before engagement reads an update's line as no event at all.
        let json = update
            .split_once(' ')
            .map(|(_, json)| json)
            .unwrap_or_default();
        assert!(serde_json::from_str::<Line>(json).is_err());
        let back = read(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(back.is_whole(), "{back:?}");
        assert_eq!(back.hits, events);
        finish(&path, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pending(dir.path()).ok(), Some(vec![]));
    }

    #[test]
    fn revenue_is_written_only_where_there_is_some() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = write(dir.path(), &hits([event(0), event(1)])).unwrap_or_else(|e| panic!("{e}"));
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<&str> = text.lines().collect();
        // A pageview's line is as the version before revenue wrote it, so that version can
        // still replay it.
        assert!(!lines[1].contains("revenue"), "{}", lines[1]);
        assert!(
            lines[2].ends_with(r#","revenue":[19990000,"EUR"]}"#),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn a_file_from_before_revenue_reads_back() {
        // A line exactly as the previous version wrote it: no `revenue` field.
        let json = r#"{"site":3,"at":"2027-01-15T08:00:01Z","visitor":7,"name":"Signup","hostname":"example.com","path":"/p/1#top","referrer":null,"source":null,"utm":[null,null,null,null,null],"browser":"Chrome","browser_version":"131","os":"Android","os_version":"14","device":"mobile","country":null,"region":null,"city":null,"viewport_width":412,"props":[]}"#;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join(format!("{PREFIX}old{SUFFIX}"));
        fs::write(&path, format!("{HEADER} 1\n{} {json}\n", checksum(json)))
            .unwrap_or_else(|e| panic!("{e}"));
        let back = read(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(back.is_whole(), "{back:?}");
        let Some(Hit::Event(signup)) = back.hits.first() else {
            panic!("{back:?}")
        };
        assert_eq!(signup.name.as_str(), "Signup");
        assert_eq!(signup.revenue, None);
    }

    #[test]
    fn a_line_with_impossible_revenue_is_damaged() {
        let mut line = Line::from(&event(1));
        line.revenue = Some((-5, "EUR".into()));
        assert!(line.into_event().is_none());
        let mut line = Line::from(&event(1));
        line.revenue = Some((5, "EURO".into()));
        assert!(line.into_event().is_none());
    }

    #[test]
    fn a_line_with_impossible_engagement_is_damaged() {
        for (ms, depth) in [(-5, 10), (5, 101), (86_400_001, 0)] {
            let line = AnyLine::Engagement {
                engagement: EngagementLine {
                    site: 3,
                    at: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
                    visitor: 7,
                    path: "/".into(),
                    engaged_ms: ms,
                    scroll_depth: depth,
                },
            };
            assert!(line.into_hit().is_none(), "{ms} {depth}");
        }
    }

    #[test]
    fn a_cut_or_damaged_file_gives_back_every_sound_line() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let events = hits((0..10).map(event));
        let path = write(dir.path(), &events).unwrap_or_else(|e| panic!("{e}"));
        let mut bytes = fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        // Flip a byte inside the third event's line (line 4), then cut the last line short.
        let starts: Vec<usize> = std::iter::once(0)
            .chain(
                bytes
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        bytes[starts[3] + 40] ^= 0x20;
        bytes.truncate(bytes.len() - 30);
        fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));

        let back = read(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!back.is_whole());
        assert_eq!(back.declared, Some(10));
        assert_eq!(back.damaged_lines, vec![4, 11]);
        assert_eq!(back.lost(), Some(2));
        let expected: Vec<Hit> = events
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i != 2 && *i != 9)
            .map(|(_, e)| e)
            .collect();
        assert_eq!(back.hits, expected);
        finish(&path, false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pending(dir.path()).ok(), Some(vec![]));
        let mut damaged = path.into_os_string();
        damaged.push(".damaged");
        assert!(Path::new(&damaged).exists());
    }

    #[test]
    fn no_directory_no_spool() {
        assert_eq!(
            pending(Path::new("/nonexistent/footfall/spool")).ok(),
            Some(vec![])
        );
    }
}
