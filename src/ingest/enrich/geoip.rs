//! Country / region / city lookup in MaxMind-format (`.mmdb`) databases: GeoIP2 / GeoLite2,
//! DB-IP, and the flat schema of the `@ip-location-db` packages.

use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::{LookupResult, MaxMindDbError, Reader};
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};

/// Where an IP address is, as far as the database knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Geo {
    /// ISO 3166-1 alpha-2 code, upper-case, e.g. `"DE"`.
    pub country: Option<String>,
    /// English name of the largest subdivision, e.g. `"Bavaria"`.
    pub region: Option<String>,
    /// English city name, e.g. `"Munich"`.
    pub city: Option<String>,
}

/// Why a GeoIP database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum GeoIpError {
    #[error("cannot read GeoIP database {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid MaxMind-format database", path.display())]
    Invalid {
        path: PathBuf,
        #[source]
        source: MaxMindDbError,
    },
    #[error(
        "GeoIP database {} has type {database_type:?}, which holds no location data",
        path.display()
    )]
    UnsupportedType {
        path: PathBuf,
        database_type: String,
    },
}

/// A GeoIP database held in memory; `Send + Sync`, so one instance can serve every request.
#[derive(Debug)]
pub struct GeoIp {
    reader: Reader<Vec<u8>>,
    schema: Schema,
    ipv4_only: bool,
}

/// Record layout, chosen once from the metadata so a lookup decodes at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Schema {
    /// `country.iso_code`, `subdivisions[].names.en`, `city.names.en`.
    GeoIp2,
    /// `country_code`, `state1`, `city` (ip-location-db).
    Flat,
    /// Unrecognised type: try `Flat`, then `GeoIp2`.
    Unknown,
}

impl GeoIp {
    /// Opens the file and picks the decoder from the file's metadata `database_type`.
    ///
    /// The file is read into memory rather than memory-mapped: mapping is `unsafe` in
    /// `maxminddb` (which this crate forbids) and is undefined behaviour if an updater
    /// rewrites the file in place, while even city databases fit comfortably in RAM.
    pub fn open(path: &Path) -> Result<GeoIp, GeoIpError> {
        let bytes = std::fs::read(path).map_err(|source| GeoIpError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let reader = Reader::from_source(bytes).map_err(|source| GeoIpError::Invalid {
            path: path.to_path_buf(),
            source,
        })?;
        let metadata = reader.metadata();
        let schema =
            schema_for(&metadata.database_type).ok_or_else(|| GeoIpError::UnsupportedType {
                path: path.to_path_buf(),
                database_type: metadata.database_type.clone(),
            })?;
        let ipv4_only = metadata.ip_version == 4;
        Ok(GeoIp {
            reader,
            schema,
            ipv4_only,
        })
    }

    /// Never fails: unknown / private / reserved IPs, or decoding errors, give `Geo::default()`.
    pub fn lookup(&self, ip: IpAddr) -> Geo {
        // Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d, and not every database
        // aliases that range to its IPv4 subtree.
        let ip = ip.to_canonical();
        if !is_routable(ip) || (self.ipv4_only && ip.is_ipv6()) {
            return Geo::default();
        }
        let found = match self.reader.lookup(ip) {
            Ok(found) => found,
            Err(error) => {
                // The address stays out of the log: it is personal data.
                tracing::debug!(%error, "GeoIP tree lookup failed");
                return Geo::default();
            }
        };
        let decoded = match self.schema {
            Schema::GeoIp2 => decode::<GeoIp2Record<'_>>(&found),
            Schema::Flat => decode::<FlatRecord<'_>>(&found),
            Schema::Unknown => match decode::<FlatRecord<'_>>(&found) {
                Ok(geo) if geo != Geo::default() => Ok(geo),
                _ => decode::<GeoIp2Record<'_>>(&found),
            },
        };
        decoded.unwrap_or_else(|error| {
            tracing::debug!(
                %error,
                database_type = self.database_type(),
                "GeoIP record decoding failed"
            );
            Geo::default()
        })
    }

    /// The metadata's `database_type`, e.g. `"GeoLite2-City"`, for logs and diagnostics.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }
}

/// `None` for database families that are known to carry no location (ASN, ISP, …).
fn schema_for(database_type: &str) -> Option<Schema> {
    let lower = database_type.to_ascii_lowercase();
    let vendor = ["geoip2-", "geolite2-", "geoip-", "dbip-"]
        .iter()
        .any(|prefix| lower.starts_with(prefix));
    if vendor {
        // Words that mark a location product in MaxMind's and DB-IP's naming.
        let located = ["city", "country", "enterprise", "location"]
            .iter()
            .any(|word| lower.contains(word));
        return located.then_some(Schema::GeoIp2);
    }
    // ip-location-db writes "<dataset> ipv4" / "ipv6" / "ipvAll", e.g. "country ipvAll".
    match lower.split_once(" ipv") {
        Some(("country" | "city", _)) => Some(Schema::Flat),
        _ => Some(Schema::Unknown),
    }
}

fn decode<'a, R>(found: &LookupResult<'a, Vec<u8>>) -> Result<Geo, MaxMindDbError>
where
    R: Deserialize<'a> + Into<Geo>,
{
    Ok(found.decode::<R>()?.map(Into::into).unwrap_or_default())
}

/// Private, loopback, link-local, documentation, … space is never in a public database,
/// so skipping the tree walk also keeps a custom database from mislabelling LAN clients.
fn is_routable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            let shared_cgnat = a == 100 && (b & 0xc0) == 64;
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_documentation()
                || shared_cgnat
                || a == 0
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let documentation = v6.segments()[..2] == [0x2001, 0x0db8];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || documentation)
        }
    }
}

/// Keeps only well-formed codes; DB-IP marks unknown ranges with the user-assigned "ZZ".
fn country_code(code: Option<&str>) -> Option<String> {
    code.filter(|code| {
        code.len() == 2
            && code.bytes().all(|b| b.is_ascii_alphabetic())
            && !code.eq_ignore_ascii_case("zz")
    })
    .map(str::to_ascii_uppercase)
}

fn place_name(name: Option<&str>) -> Option<String> {
    name.map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

// The record structs borrow from the database buffer and name only the fields we use, so
// a lookup allocates just the final strings and the decoder skips everything else.

#[derive(Deserialize)]
struct GeoIp2Record<'a> {
    #[serde(borrow)]
    country: Option<IsoCode<'a>>,
    #[serde(borrow, default, deserialize_with = "first_element")]
    subdivisions: Option<Named<'a>>,
    #[serde(borrow)]
    city: Option<Named<'a>>,
}

#[derive(Deserialize)]
struct IsoCode<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow)]
    names: Option<EnglishName<'a>>,
}

#[derive(Deserialize)]
struct EnglishName<'a> {
    #[serde(borrow)]
    en: Option<&'a str>,
}

impl Named<'_> {
    fn english(&self) -> Option<&str> {
        self.names.as_ref().and_then(|names| names.en)
    }
}

impl From<GeoIp2Record<'_>> for Geo {
    fn from(record: GeoIp2Record<'_>) -> Geo {
        Geo {
            country: country_code(record.country.and_then(|country| country.iso_code)),
            region: place_name(record.subdivisions.as_ref().and_then(Named::english)),
            city: place_name(record.city.as_ref().and_then(Named::english)),
        }
    }
}

#[derive(Deserialize)]
struct FlatRecord<'a> {
    #[serde(borrow)]
    country_code: Option<&'a str>,
    #[serde(borrow)]
    state1: Option<&'a str>,
    #[serde(borrow)]
    city: Option<&'a str>,
}

impl From<FlatRecord<'_>> for Geo {
    fn from(record: FlatRecord<'_>) -> Geo {
        Geo {
            country: country_code(record.country_code),
            region: place_name(record.state1),
            city: place_name(record.city),
        }
    }
}

/// Decodes the first element of an array without collecting the rest into a `Vec`.
fn first_element<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct First<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for First<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
            let first = seq.next_element()?;
            // The decoder is a forward-only cursor: unread elements would be mistaken for
            // the record's next key.
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }

    deserializer.deserialize_seq(First(PhantomData))
}
