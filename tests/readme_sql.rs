//! The README's example SQL, run as written: every block marked `<!-- sql-example: NAME FLAVOURS -->`
//! is taken from README.md and executed with sqlx against a small hand-made data set on the
//! backends it names, and must return exactly the rows worked out below. Keeps the docs true.

mod support;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use footfall::domain::Site;
use footfall::store::DynStore;
use sqlx::{Column, Row, TypeInfo, ValueRef};
use support::visits::{Profile, add_site, utc, visit, write};
use support::{Backend, TestDb, open_store};

both_backends!(the_readme_sql_examples_return_the_documented_rows);

/// One marked example: its name, the flavours it is for, its SQL.
#[derive(Debug)]
struct Example {
    name: String,
    flavours: Vec<String>,
    sql: String,
}

/// Every marked block of README.md.
fn examples() -> Vec<Example> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .unwrap_or_else(|e| panic!("README.md: {e}"));
    let marker = "<!-- sql-example:";
    let mut found = Vec::new();
    let mut rest = readme.as_str();
    while let Some(start) = rest.find(marker) {
        rest = &rest[start + marker.len()..];
        let end = rest
            .find("-->")
            .unwrap_or_else(|| panic!("unclosed sql-example marker"));
        let mut words = rest[..end].split_whitespace().map(str::to_owned);
        let name = words.next().unwrap_or_default();
        let flavours: Vec<String> = words.collect();
        let block = rest[end + 3..].trim_start();
        let block = block
            .strip_prefix("```sql\n")
            .unwrap_or_else(|| panic!("sql-example {name}: no ```sql block right after it"));
        let sql = &block[..block
            .find("```")
            .unwrap_or_else(|| panic!("sql-example {name}: unclosed block"))];
        found.push(Example {
            name,
            flavours,
            sql: sql.trim().trim_end_matches(';').to_owned(),
        });
    }
    found
}

/// Midnight UTC `days` days ago, plus `hour`:`minute`.
fn days_ago(days: u64, hour: i64, minute: i64) -> DateTime<Utc> {
    let today = Utc::now().date_naive();
    let day = today.checked_sub_days(Days::new(days)).unwrap_or(today);
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() + TimeDelta::minutes(hour * 60 + minute)
}

fn day_ago(days: u64) -> String {
    days_ago(days, 0, 0).date_naive().to_string()
}

/// The data set. Visitor ids differ per day, as real ones do.
///
/// | UTC day    | visitor | events                                                  | campaign |
/// |------------|---------|---------------------------------------------------------|----------|
/// | today − 1  | 1       | pv /pricing, pv /, pv /pricing                          | spring_sale newsletter/email |
/// | today − 1  | 2       | pv /pricing, Signup /pricing                            | other_sale newsletter/email |
/// | today − 2  | 3       | pv /blog, pv /                                          | spring_sale twitter/social |
/// | today − 2  | 4       | pv /blog                                                | — |
/// | today − 10 | 5       | pv /old ×3                                              | spring_sale newsletter/email |
/// | today − 40 | 6       | pv /ancient                                             | — |
/// | 2026-06-10 21:30 and 22:30 UTC (23:30 on the 10th and 00:30 on the 11th in Berlin) | 7 | pv /, pv / | — |
/// | 2026-06-11 09:00   | 8       | pv /                                                    | — |
async fn populate(store: &DynStore) -> Site {
    let site = add_site(store, "example.com", "Europe/Berlin").await;
    let base = Profile {
        browser: ("Firefox", "133"),
        os: ("Linux", ""),
        device: "desktop",
        ..Profile::default()
    };
    let tagged = |source, medium, campaign| Profile {
        source: Some(("Newsletter", "https://mail.example.org/")),
        utm: Some((source, medium, campaign)),
        ..base.clone()
    };
    let pv = "pageview";
    let mut events = Vec::new();
    let at = days_ago;
    events.extend(visit(
        &site,
        1,
        &tagged("newsletter", "email", "spring_sale"),
        &[
            (at(1, 12, 0), pv, "/pricing", &[]),
            (at(1, 12, 1), pv, "/", &[]),
            (at(1, 12, 2), pv, "/pricing", &[]),
        ],
    ));
    events.extend(visit(
        &site,
        2,
        &tagged("newsletter", "email", "other_sale"),
        &[
            (at(1, 13, 0), pv, "/pricing", &[]),
            (at(1, 13, 1), "Signup", "/pricing", &[("plan", "pro")]),
        ],
    ));
    events.extend(visit(
        &site,
        3,
        &tagged("twitter", "social", "spring_sale"),
        &[(at(2, 9, 0), pv, "/blog", &[]), (at(2, 9, 5), pv, "/", &[])],
    ));
    events.extend(visit(&site, 4, &base, &[(at(2, 15, 0), pv, "/blog", &[])]));
    events.extend(visit(
        &site,
        5,
        &tagged("newsletter", "email", "spring_sale"),
        &[
            (at(10, 8, 0), pv, "/old", &[]),
            (at(10, 8, 1), pv, "/old", &[]),
            (at(10, 8, 2), pv, "/old", &[]),
        ],
    ));
    events.extend(visit(
        &site,
        6,
        &base,
        &[(at(40, 8, 0), pv, "/ancient", &[])],
    ));
    events.extend(visit(
        &site,
        7,
        &base,
        &[(utc("2026-06-10 21:30"), pv, "/", &[])],
    ));
    events.extend(visit(
        &site,
        7,
        &base,
        &[(utc("2026-06-10 22:30"), pv, "/", &[])],
    ));
    events.extend(visit(
        &site,
        8,
        &base,
        &[(utc("2026-06-11 09:00"), pv, "/", &[])],
    ));
    write(store, events, 4).await;
    site
}

/// What each example must return, as text (`NULL` for null).
fn expected(name: &str) -> Vec<Vec<String>> {
    let rows = |rows: &[&[&str]]| -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
            .collect()
    };
    match name {
        "top-pages" => rows(&[&["/pricing", "3"], &["/", "2"], &["/blog", "2"]]),
        "visitors-per-day" => vec![
            vec![day_ago(10), "1".into(), "3".into()],
            vec![day_ago(2), "2".into(), "3".into()],
            vec![day_ago(1), "2".into(), "4".into()],
        ],
        // Visitor 7's id covers one UTC day but two Berlin days.
        "visitors-per-local-day" => rows(&[&["2026-06-10", "1"], &["2026-06-11", "2"]]),
        "campaign-sources" => rows(&[
            &["newsletter", "email", "2", "6", "0"],
            &["twitter", "social", "1", "2", "0"],
        ]),
        other => panic!("README example {other:?} has no expected rows here: add them"),
    }
}

/// A cell as text, whatever its SQL type.
fn cell<R: Row>(row: &R, i: usize) -> String
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> NaiveDate: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let raw = row
        .try_get_raw(i)
        .unwrap_or_else(|e| panic!("column {i}: {e}"));
    if raw.is_null() {
        return "NULL".into();
    }
    let type_name = raw.type_info().name().to_owned();
    if let Ok(v) = row.try_get::<i64, _>(i) {
        return v.to_string();
    }
    if let Ok(v) = row.try_get::<i32, _>(i) {
        return v.to_string();
    }
    if let Ok(v) = row.try_get::<NaiveDate, _>(i) {
        return v.to_string();
    }
    if let Ok(v) = row.try_get::<String, _>(i) {
        return v;
    }
    panic!(
        "column {} has type {type_name}, which this test cannot read",
        row.columns()[i].name()
    )
}

async fn run(db: &TestDb, sql: &str) -> Result<Vec<Vec<String>>, sqlx::Error> {
    Ok(match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_all(&pool)
                .await?;
            pool.close().await;
            rows.iter()
                .map(|r| (0..r.len()).map(|i| cell(r, i)).collect())
                .collect()
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_all(&pool)
                .await?;
            pool.close().await;
            rows.iter()
                .map(|r| (0..r.len()).map(|i| cell(r, i)).collect())
                .collect()
        }
    })
}

async fn the_readme_sql_examples_return_the_documented_rows(backend: Backend) {
    let examples = examples();
    let flavour = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    // The section shows each question for both databases; losing a marker must fail here.
    for name in [
        "top-pages",
        "visitors-per-day",
        "visitors-per-local-day",
        "campaign-sources",
    ] {
        for f in ["sqlite", "postgres"] {
            assert!(
                examples
                    .iter()
                    .any(|e| e.name == name && e.flavours.iter().any(|x| x == f)),
                "README has no {f} example {name}: {examples:#?}"
            );
        }
    }
    let Some((store, db)) = open_store(backend).await else {
        return;
    };
    populate(&store).await;
    for example in examples
        .iter()
        .filter(|e| e.flavours.iter().any(|f| f == flavour))
    {
        let rows = run(&db, &example.sql)
            .await
            .unwrap_or_else(|e| panic!("{flavour} example {}: {e}\n{}", example.name, example.sql));
        assert_eq!(
            rows,
            expected(&example.name),
            "{flavour} example {}",
            example.name
        );
    }
    db.cleanup().await;
}
