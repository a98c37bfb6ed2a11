//! GeoIP lookups against small MaxMind-format databases that each test writes to a temp dir,
//! shaped like GeoLite2 / DB-IP / ip-location-db files, so no third-party data is committed.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use footfall::ingest::enrich::geoip::{Geo, GeoIp};
use mmdb_writer::ipnet::IpNet;
use mmdb_writer::{IpVersion, Ipv4Aliasing, Value, Writer};
use tempfile::TempDir;

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn ip(text: &str) -> IpAddr {
    text.parse()
        .unwrap_or_else(|error| panic!("bad test address {text}: {error}"))
}

fn net(text: &str) -> IpNet {
    text.parse()
        .unwrap_or_else(|error| panic!("bad test network {text}: {error}"))
}

fn geo(country: &str, region: Option<&str>, city: Option<&str>) -> Geo {
    Geo {
        country: Some(country.to_owned()),
        region: region.map(str::to_owned),
        city: city.map(str::to_owned),
    }
}

/// Aliasing of `::ffff:0:0/96` is off so the IPv4-mapped lookups exercise `GeoIp` itself
/// rather than the alias subtree that official databases happen to carry.
fn writer(database_type: &str, ip_version: IpVersion) -> Writer {
    Writer::builder(database_type)
        .languages(["en", "de"])
        .description(&[("en", "footfall test fixture")])
        .ip_version(ip_version)
        .ipv4_aliasing(Ipv4Aliasing::Disabled)
        .build()
}

fn save(dir: &TempDir, writer: &Writer) -> TestResult<PathBuf> {
    let path = dir.path().join("fixture.mmdb");
    std::fs::write(&path, writer.to_bytes()?)?;
    Ok(path)
}

fn names(en: &str, de: &str) -> Value {
    Value::map([("en", en), ("de", de)])
}

fn country_part(geoname_id: u32, iso_code: &str, en: &str, de: &str) -> Value {
    Value::map([
        ("geoname_id", Value::U32(geoname_id)),
        ("iso_code", Value::from(iso_code)),
        ("names", names(en, de)),
    ])
}

/// A record laid out like GeoLite2-City, with a second subdivision and a trailing `traits`
/// map so a decoder that mishandles the rest of `subdivisions` would trip over them.
fn geolite2_city_record(
    country: (u32, &str, &str, &str),
    subdivisions: &[(&str, &str)],
    city: (&str, &str),
) -> Value {
    let (geoname_id, iso_code, country_en, country_de) = country;
    let country = country_part(geoname_id, iso_code, country_en, country_de);
    Value::map([
        (
            "city",
            Value::map([
                ("geoname_id", Value::U32(2_643_743)),
                ("names", names(city.0, city.1)),
            ]),
        ),
        (
            "continent",
            Value::map([
                ("code", Value::from("EU")),
                ("geoname_id", Value::U32(6_255_148)),
                ("names", names("Europe", "Europa")),
            ]),
        ),
        ("country", country.clone()),
        (
            "location",
            Value::map([
                ("accuracy_radius", Value::U16(10)),
                ("latitude", Value::Double(51.5)),
                ("longitude", Value::Double(-0.1)),
                ("time_zone", Value::from("Europe/London")),
            ]),
        ),
        ("registered_country", country),
        (
            "subdivisions",
            Value::array(subdivisions.iter().map(|(iso_code, en)| {
                Value::map([
                    ("iso_code", Value::from(*iso_code)),
                    ("names", names(en, en)),
                ])
            })),
        ),
        ("traits", Value::map([("is_anycast", Value::Bool(false))])),
    ])
}

fn geolite2_city(dir: &TempDir, database_type: &str) -> TestResult<PathBuf> {
    let mut writer = writer(database_type, IpVersion::V6);
    writer.insert_value(
        net("81.2.69.0/24"),
        geolite2_city_record(
            (2_635_167, "GB", "United Kingdom", "Vereinigtes Königreich"),
            &[("ENG", "England"), ("WSM", "Westminster")],
            ("London", "London"),
        ),
    )?;
    writer.insert_value(
        net("2a02:8108::/32"),
        geolite2_city_record(
            (2_921_044, "DE", "Germany", "Deutschland"),
            &[("BY", "Bavaria")],
            ("Munich", "München"),
        ),
    )?;
    save(dir, &writer)
}

fn geolite2_country(dir: &TempDir) -> TestResult<PathBuf> {
    let mut writer = writer("GeoLite2-Country", IpVersion::V6);
    let gb = country_part(2_635_167, "GB", "United Kingdom", "Vereinigtes Königreich");
    writer.insert_value(
        net("81.2.69.0/24"),
        Value::map([
            (
                "continent",
                Value::map([
                    ("code", Value::from("EU")),
                    ("names", names("Europe", "Europa")),
                ]),
            ),
            ("country", gb.clone()),
            ("registered_country", gb),
        ]),
    )?;
    save(dir, &writer)
}

fn flat_dbip_country(dir: &TempDir) -> TestResult<PathBuf> {
    // The npm package's IPv4 file is an IPv4-only tree with type "country ipv4".
    let mut writer = writer("country ipv4", IpVersion::V4);
    writer.insert_value(net("81.2.69.0/24"), Value::map([("country_code", "GB")]))?;
    writer.insert_value(net("5.9.0.0/16"), Value::map([("country_code", "DE")]))?;
    save(dir, &writer)
}

fn flat_city_record(country_code: &str, state1: &str, city: &str) -> Value {
    Value::map([
        ("city", Value::from(city)),
        ("country_code", Value::from(country_code)),
        ("latitude", Value::Float(48.14)),
        ("longitude", Value::Float(11.58)),
        ("postcode", Value::from("80331")),
        ("state1", Value::from(state1)),
        ("state2", Value::from("Upper Bavaria")),
        ("timezone", Value::from("Europe/Berlin")),
    ])
}

fn flat_dbip_city(dir: &TempDir, database_type: &str) -> TestResult<PathBuf> {
    let mut writer = writer(database_type, IpVersion::V6);
    writer.insert_value(
        net("2a02:8108::/32"),
        flat_city_record("DE", "Bavaria", "Munich"),
    )?;
    writer.insert_value(
        net("81.2.69.0/24"),
        flat_city_record("gb", "England", "London"),
    )?;
    // DB-IP labels ranges it cannot place with the user-assigned code "ZZ".
    writer.insert_value(net("198.51.100.0/24"), flat_city_record("ZZ", "", ""))?;
    save(dir, &writer)
}

fn open(path: &Path) -> TestResult<GeoIp> {
    Ok(GeoIp::open(path)?)
}

fn open_error(path: &Path) -> String {
    match GeoIp::open(path) {
        Ok(db) => panic!("{} opened as {}", path.display(), db.database_type()),
        Err(error) => error.to_string(),
    }
}

#[test]
fn lookup_finds_city_and_region_in_a_geolite2_city_database() -> TestResult {
    let dir = TempDir::new()?;
    let db = open(&geolite2_city(&dir, "GeoLite2-City")?)?;

    assert_eq!(db.database_type(), "GeoLite2-City");
    assert_eq!(
        db.lookup(ip("81.2.69.142")),
        geo("GB", Some("England"), Some("London"))
    );
    assert_eq!(
        db.lookup(ip("2a02:8108:1234::1")),
        geo("DE", Some("Bavaria"), Some("Munich"))
    );
    Ok(())
}

#[test]
fn lookup_finds_an_ipv4_client_written_as_an_ipv4_mapped_ipv6_address() -> TestResult {
    let dir = TempDir::new()?;
    let db = open(&geolite2_city(&dir, "GeoLite2-City")?)?;

    assert_eq!(
        db.lookup(ip("::ffff:81.2.69.142")),
        geo("GB", Some("England"), Some("London"))
    );
    Ok(())
}

#[test]
fn lookup_of_an_address_outside_every_network_gives_an_empty_geo() -> TestResult {
    let dir = TempDir::new()?;
    let db = open(&geolite2_city(&dir, "GeoLite2-City")?)?;

    assert_eq!(db.lookup(ip("81.2.70.1")), Geo::default());
    assert_eq!(db.lookup(ip("2a02:8109::1")), Geo::default());
    Ok(())
}

#[test]
fn lookup_of_loopback_and_private_addresses_gives_an_empty_geo() -> TestResult {
    let dir = TempDir::new()?;
    let db = open(&geolite2_city(&dir, "GeoLite2-City")?)?;

    for private in [
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "192.168.0.1",
        "fe80::1",
        "fd00::1",
    ] {
        assert_eq!(db.lookup(ip(private)), Geo::default(), "{private}");
    }
    Ok(())
}

#[test]
fn lookup_ignores_private_ranges_even_when_the_database_covers_them() -> TestResult {
    let dir = TempDir::new()?;
    let mut writer = writer("GeoLite2-Country", IpVersion::V6);
    writer.insert_value(
        net("10.0.0.0/8"),
        Value::map([("country", country_part(1, "US", "United States", "USA"))]),
    )?;
    let db = open(&save(&dir, &writer)?)?;

    assert_eq!(db.lookup(ip("10.1.2.3")), Geo::default());
    Ok(())
}

#[test]
fn lookup_reads_dbip_lite_files_that_use_the_geoip2_layout() -> TestResult {
    let dir = TempDir::new()?;
    let db = open(&geolite2_city(&dir, "DBIP-City-Lite")?)?;

    assert_eq!(
        db.lookup(ip("81.2.69.1")),
        geo("GB", Some("England"), Some("London"))
    );
    Ok(())
}

#[test]
fn lookup_finds_only_the_country_in_a_geolite2_country_database() -> TestResult {
    let dir = TempDir::new()?;
    let db = open(&geolite2_country(&dir)?)?;

    assert_eq!(db.database_type(), "GeoLite2-Country");
    assert_eq!(db.lookup(ip("81.2.69.200")), geo("GB", None, None));
    assert_eq!(db.lookup(ip("81.2.68.1")), Geo::default());
    Ok(())
}

#[test]
fn lookup_finds_the_country_in_a_flat_dbip_country_database() -> TestResult {
    let dir = TempDir::new()?;
    let db = open(&flat_dbip_country(&dir)?)?;

    assert_eq!(db.database_type(), "country ipv4");
    assert_eq!(db.lookup(ip("81.2.69.7")), geo("GB", None, None));
    assert_eq!(db.lookup(ip("5.9.10.11")), geo("DE", None, None));
    assert_eq!(db.lookup(ip("::ffff:5.9.10.11")), geo("DE", None, None));
    assert_eq!(db.lookup(ip("8.8.8.8")), Geo::default());
    Ok(())
}

#[test]
fn lookup_of_an_ipv6_address_in_an_ipv4_only_database_gives_an_empty_geo() -> TestResult {
    let dir = TempDir::new()?;
    let db = open(&flat_dbip_country(&dir)?)?;

    assert_eq!(db.lookup(ip("2a02:8108::1")), Geo::default());
    Ok(())
}

#[test]
fn lookup_finds_city_and_state_in_a_flat_dbip_city_database() -> TestResult {
    let dir = TempDir::new()?;
    let db = open(&flat_dbip_city(&dir, "city ipvAll")?)?;

    assert_eq!(
        db.lookup(ip("2a02:8108::42")),
        geo("DE", Some("Bavaria"), Some("Munich"))
    );
    Ok(())
}

#[test]
fn lookup_upper_cases_country_codes_and_drops_the_unknown_country_zz() -> TestResult {
    let dir = TempDir::new()?;
    let db = open(&flat_dbip_city(&dir, "city ipvAll")?)?;

    assert_eq!(
        db.lookup(ip("81.2.69.1")),
        geo("GB", Some("England"), Some("London"))
    );
    assert_eq!(db.lookup(ip("198.51.100.1")), Geo::default());
    Ok(())
}

#[test]
fn lookup_detects_the_schema_when_the_database_type_is_unfamiliar() -> TestResult {
    let flat_dir = TempDir::new()?;
    let flat = open(&flat_dbip_city(&flat_dir, "Someones-Custom-Build")?)?;
    let standard_dir = TempDir::new()?;
    let standard = open(&geolite2_city(&standard_dir, "Someones-Custom-Build")?)?;

    assert_eq!(
        flat.lookup(ip("2a02:8108::42")),
        geo("DE", Some("Bavaria"), Some("Munich"))
    );
    assert_eq!(
        standard.lookup(ip("2a02:8108::42")),
        geo("DE", Some("Bavaria"), Some("Munich"))
    );
    Ok(())
}

#[test]
fn lookup_of_a_record_with_an_unexpected_shape_gives_an_empty_geo() -> TestResult {
    let dir = TempDir::new()?;
    let mut writer = writer("GeoLite2-City", IpVersion::V6);
    writer.insert_value(
        net("81.2.69.0/24"),
        Value::map([("country", Value::from("GB")), ("city", Value::U32(7))]),
    )?;
    let db = open(&save(&dir, &writer)?)?;

    assert_eq!(db.lookup(ip("81.2.69.1")), Geo::default());
    Ok(())
}

#[test]
fn opening_a_missing_file_fails_with_an_error_naming_the_path() -> TestResult {
    let dir = TempDir::new()?;
    let path = dir.path().join("GeoLite2-City.mmdb");

    let error = open_error(&path);

    assert!(error.contains(&*path.to_string_lossy()), "{error}");
    Ok(())
}

#[test]
fn opening_a_file_that_is_not_an_mmdb_fails_with_an_error_naming_the_path() -> TestResult {
    let dir = TempDir::new()?;
    let garbage = dir.path().join("garbage.mmdb");
    std::fs::write(&garbage, b"this is not a MaxMind database\n".repeat(64))?;
    let empty = dir.path().join("empty.mmdb");
    std::fs::write(&empty, b"")?;

    for path in [garbage, empty] {
        let error = open_error(&path);
        assert!(error.contains(&*path.to_string_lossy()), "{error}");
    }
    Ok(())
}

#[test]
fn opening_an_asn_database_fails_with_an_error_naming_the_path_and_type() -> TestResult {
    let dir = TempDir::new()?;
    let mut writer = writer("GeoLite2-ASN", IpVersion::V6);
    writer.insert_value(
        net("81.2.69.0/24"),
        Value::map([("autonomous_system_number", Value::U32(20_712))]),
    )?;
    let path = save(&dir, &writer)?;

    let error = open_error(&path);

    assert!(error.contains(&*path.to_string_lossy()), "{error}");
    assert!(error.contains("GeoLite2-ASN"), "{error}");
    Ok(())
}
