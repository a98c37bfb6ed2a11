//! Upgrades of stored data that SQL migrations cannot express. A migration names one in
//! `pending_upgrades`; `footfall serve` runs it in the background once it is collecting (a start
//! must not wait minutes on a large database while visitors' events are refused), in batches,
//! each its own short transaction, so the writer is held up for one batch at most. An upgrade is
//! idempotent (collectors starting together may both run it, a restart half way runs it again)
//! and removes its row when done. Until it is done, the dashboard may show rows of both forms.
//!
//! - `decode_text` (migration 0008): paths, referrers and prop values stored percent-encoded
//!   before footfall decoded them at collection (`domain::decode::for_display`) are decoded, and
//!   the query engine's segments of the sites that had such rows are rebuilt.

use super::exec::Exec;
use super::{Dialect, Kind, Sql};
use crate::domain::decode::for_display;
use crate::store::StoreError;
use std::collections::BTreeSet;

const DECODE_TEXT: &str = "decode_text";
/// Rows read per batch, and the pause between batches.
const BATCH: i64 = 1000;
const PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// Runs the pending upgrades; returns the rows changed.
pub(crate) async fn run(db: &dyn Exec) -> Result<u64, StoreError> {
    let d = db.dialect();
    let mut sql = Sql::new(d);
    sql.push("SELECT name FROM pending_upgrades");
    let pending = db.fetch(&sql, &[Kind::Text]).await?;
    let mut changed = 0;
    for row in pending {
        let name = row.string(0)?;
        match name.as_str() {
            DECODE_TEXT => changed += decode_text(db).await?,
            other => {
                tracing::warn!(upgrade = other, "unknown pending upgrade; left alone");
                continue;
            }
        }
        let mut sql = Sql::new(d);
        sql.push("DELETE FROM pending_upgrades WHERE name = ")
            .text(&name);
        db.execute(&sql).await?;
    }
    Ok(changed)
}

/// A table's text columns to decode (the last may be the JSON props).
struct Table {
    name: &'static str,
    columns: &'static [&'static str],
    props: bool,
}

const TABLES: [Table; 2] = [
    Table {
        name: "events",
        columns: &["path", "referrer"],
        props: true,
    },
    Table {
        name: "sessions",
        columns: &["entry_path", "exit_path", "referrer"],
        props: false,
    },
];

async fn decode_text(db: &dyn Exec) -> Result<u64, StoreError> {
    let mut sites = BTreeSet::new();
    let mut changed = 0u64;
    for table in &TABLES {
        changed += decode_table(db, table, &mut sites).await?;
    }
    // Segments hold the values they were built from: those sites start over (`engine::build`
    // rebuilds segments of another version).
    for site in &sites {
        let mut sql = Sql::new(db.dialect());
        sql.push("UPDATE segments SET version = 0 WHERE site_id = ")
            .int(*site);
        db.execute(&sql).await?;
    }
    if changed > 0 {
        tracing::info!(
            rows = changed,
            sites = sites.len(),
            "stored paths, referrers and props decoded"
        );
    }
    Ok(changed)
}

async fn decode_table(
    db: &dyn Exec,
    table: &Table,
    sites: &mut BTreeSet<i64>,
) -> Result<u64, StoreError> {
    let d = db.dialect();
    // Session ids are random and may be negative.
    let mut after = i64::MIN;
    let mut changed = 0u64;
    let mut kinds = vec![Kind::Int, Kind::Int];
    kinds.extend(table.columns.iter().map(|_| Kind::Text));
    if table.props {
        kinds.push(Kind::Text);
    }
    loop {
        let rows = db.fetch(&candidates(d, table, after), &kinds).await?;
        let Some(last) = rows.last() else {
            return Ok(changed);
        };
        after = last.int(0)?;
        let full = rows.len() as i64 == BATCH;
        let mut tx = db.begin().await?;
        for row in rows {
            let mut values = Vec::with_capacity(kinds.len() - 2);
            let mut any = false;
            for i in 0..table.columns.len() {
                let old = row.text(2 + i)?;
                let new = old.as_deref().map(|v| for_display(v).into_owned());
                any |= new != old;
                values.push(new);
            }
            let props = match table.props {
                true => {
                    let old = row.text(2 + table.columns.len())?;
                    let new = old.as_deref().map(decode_props).transpose()?;
                    any |= new != old;
                    new
                }
                false => None,
            };
            if !any {
                continue;
            }
            tx.execute(&update(d, table, row.int(0)?, &values, props.as_deref()))
                .await?;
            sites.insert(row.int(1)?);
            changed += 1;
        }
        tx.commit().await?;
        if !full {
            return Ok(changed);
        }
        // Let the writer's next batch in before the next one of these.
        tokio::time::sleep(PAUSE).await;
    }
}

/// The next batch of rows after `after` (by id) with a `%` in a column to decode.
fn candidates(d: Dialect, table: &Table, after: i64) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("SELECT id, site_id");
    for column in table.columns {
        sql.push(", ").push(column);
    }
    if table.props {
        sql.push(", CAST(props AS TEXT)");
    }
    sql.push(" FROM ")
        .push(table.name)
        .push(" WHERE id > ")
        .int(after)
        .push(" AND (");
    for (i, column) in table.columns.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push(column).push(" LIKE '%!%%' ESCAPE '!'");
    }
    if table.props {
        sql.push(" OR CAST(props AS TEXT) LIKE '%!%%' ESCAPE '!'");
    }
    sql.push(") ORDER BY id LIMIT ").int(BATCH);
    sql
}

fn update(
    d: Dialect,
    table: &Table,
    id: i64,
    values: &[Option<String>],
    props: Option<&str>,
) -> Sql {
    let mut sql = Sql::new(d);
    sql.push("UPDATE ").push(table.name).push(" SET ");
    for (i, (column, value)) in table.columns.iter().zip(values).enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push(column).push(" = ");
        match value {
            Some(v) => sql.text(v),
            None => sql.push("NULL"),
        };
    }
    if let Some(props) = props {
        sql.push(", props = ");
        match d {
            Dialect::Sqlite => sql.text(props),
            Dialect::Postgres => sql.push("CAST(").text(props).push(" AS JSONB)"),
        };
    }
    sql.push(" WHERE id = ").int(id);
    sql
}

/// A stored props object (JSON text) with its string values decoded.
fn decode_props(json: &str) -> Result<String, StoreError> {
    let mut map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("props: {e}")))?;
    let mut any = false;
    for value in map.values_mut() {
        if let serde_json::Value::String(s) = value {
            let decoded = for_display(s).into_owned();
            if decoded != *s {
                *s = decoded;
                any = true;
            }
        }
    }
    if !any {
        return Ok(json.to_owned());
    }
    serde_json::to_string(&map).map_err(|e| StoreError::Corrupt(format!("props: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn props_keep_their_text_unless_a_value_decodes() {
        let same = r#"{"plan": "50% off"}"#;
        assert_eq!(decode_props(same).ok().as_deref(), Some(same));
        let decoded = decode_props(r#"{"path":"/%C3%BCber","n":"1"}"#).unwrap_or_default();
        let map: serde_json::Value = serde_json::from_str(&decoded).unwrap_or_default();
        assert_eq!(map, serde_json::json!({"path": "/über", "n": "1"}));
    }
}
