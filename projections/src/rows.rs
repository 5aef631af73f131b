//! Batch access to read-model rows.
//!
//! A projection applies events in batches: it loads the rows a batch touches in one query,
//! folds the events into them in memory, then writes every changed row back in one
//! statement. Rows travel as JSON (`to_jsonb` out, `jsonb_populate_recordset` in), so one
//! generic helper serves every table, and a rebuild writes thousands of rows per round
//! trip instead of one. Table names are unqualified on purpose: a rebuild points
//! `search_path` at a fresh schema and the same code fills it.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// A read-model row: a struct whose serde field names are the table's column names.
pub trait Row: Serialize + DeserializeOwned + Clone + Send + Sync {
    /// The table.
    const TABLE: &'static str;
    /// The primary-key column (a uuid).
    const KEY: &'static str;
    /// Every column, in any order.
    const COLUMNS: &'static [&'static str];
    /// Numeric columns: read back as strings so decimals never pass through a float.
    const NUMERIC: &'static [&'static str] = &[];
}

fn select_list<R: Row>() -> String {
    let mut overrides = String::new();
    for column in R::NUMERIC {
        overrides.push_str(&format!(", '{column}', t.{column}::text"));
    }
    if overrides.is_empty() {
        "to_jsonb(t)".to_owned()
    } else {
        format!("to_jsonb(t) || jsonb_build_object({})", &overrides[2..])
    }
}

/// Loads the rows whose key is in `keys`.
pub async fn load<R: Row>(
    conn: &mut PgConnection,
    keys: &[Uuid],
) -> Result<HashMap<Uuid, R>, sqlx::Error> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "select t.{key}, {list} from {table} t where t.{key} = any($1)",
        key = R::KEY,
        list = select_list::<R>(),
        table = R::TABLE
    );
    let rows: Vec<(Uuid, serde_json::Value)> =
        sqlx::query_as(&sql).bind(keys).fetch_all(conn).await?;
    rows.into_iter()
        .map(|(key, json)| {
            serde_json::from_value(json)
                .map(|row| (key, row))
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))
        })
        .collect()
}

/// Inserts or replaces rows.
pub async fn upsert<'a, R: Row + 'a>(
    conn: &mut PgConnection,
    rows: impl IntoIterator<Item = &'a R>,
) -> Result<(), sqlx::Error> {
    let rows: Vec<&R> = rows.into_iter().collect();
    if rows.is_empty() {
        return Ok(());
    }
    let columns: Vec<&str> = R::COLUMNS
        .iter()
        .copied()
        .filter(|c| *c != R::KEY)
        .collect();
    let set = if columns.is_empty() {
        "nothing".to_owned()
    } else {
        format!(
            "update set ({}) = row({})",
            columns.join(", "),
            columns
                .iter()
                .map(|c| format!("excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let sql = format!(
        "insert into {table} select * from jsonb_populate_recordset(null::{table}, $1)
         on conflict ({key}) do {set}",
        table = R::TABLE,
        key = R::KEY
    );
    let json = serde_json::to_value(&rows).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(&sql).bind(json).execute(conn).await?;
    Ok(())
}

/// Appends rows (tables whose rows never change, like the audit trail) with COPY, the
/// cheapest way into PostgreSQL: no JSON to parse on the server, one round trip.
pub async fn insert<R: Row>(conn: &mut PgConnection, rows: &[R]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut text = String::with_capacity(rows.len() * 256);
    for row in rows {
        let value = serde_json::to_value(row).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        for (i, column) in R::COLUMNS.iter().enumerate() {
            if i > 0 {
                text.push('\t');
            }
            match value.get(column) {
                None | Some(serde_json::Value::Null) => text.push_str("\\N"),
                Some(serde_json::Value::String(s)) => copy_escape(&mut text, s),
                Some(serde_json::Value::Bool(b)) => text.push(if *b { 't' } else { 'f' }),
                Some(serde_json::Value::Number(n)) => text.push_str(&n.to_string()),
                Some(other) => copy_escape(&mut text, &other.to_string()),
            }
        }
        text.push('\n');
    }
    let sql = format!(
        "copy {table} ({columns}) from stdin",
        table = R::TABLE,
        columns = R::COLUMNS.join(", ")
    );
    let mut copy = conn.copy_in_raw(&sql).await?;
    copy.send(text.as_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// Escapes a value for COPY's text format.
fn copy_escape(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
}

/// Deletes the rows whose key is in `keys`.
pub async fn delete<R: Row>(conn: &mut PgConnection, keys: &[Uuid]) -> Result<(), sqlx::Error> {
    if keys.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "delete from {table} where {key} = any($1)",
        table = R::TABLE,
        key = R::KEY
    );
    sqlx::query(&sql).bind(keys).execute(conn).await?;
    Ok(())
}

/// The rows one batch works on: loaded once, changed in memory, written back once.
#[derive(Debug)]
pub struct RowSet<R> {
    rows: HashMap<Uuid, R>,
    dirty: HashSet<Uuid>,
    removed: HashSet<Uuid>,
}

impl<R: Row> RowSet<R> {
    /// Loads the rows for `keys` (duplicates are fine).
    pub async fn load(
        conn: &mut PgConnection,
        keys: impl IntoIterator<Item = Uuid>,
    ) -> Result<Self, sqlx::Error> {
        let keys: Vec<Uuid> = unique(keys);
        Ok(RowSet {
            rows: load(conn, &keys).await?,
            dirty: HashSet::new(),
            removed: HashSet::new(),
        })
    }

    /// A row for reading.
    pub fn get(&self, key: &Uuid) -> Option<&R> {
        self.rows.get(key)
    }

    /// A row for changing (marked to be written back).
    pub fn get_mut(&mut self, key: &Uuid) -> Option<&mut R> {
        let row = self.rows.get_mut(key)?;
        self.dirty.insert(*key);
        Some(row)
    }

    /// Adds or replaces a row.
    pub fn put(&mut self, key: Uuid, row: R) {
        self.removed.remove(&key);
        self.dirty.insert(key);
        self.rows.insert(key, row);
    }

    /// Removes a row.
    pub fn remove(&mut self, key: &Uuid) {
        if self.rows.remove(key).is_some() {
            self.dirty.remove(key);
            self.removed.insert(*key);
        }
    }

    /// Writes back what changed.
    pub async fn flush(self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let removed: Vec<Uuid> = self.removed.into_iter().collect();
        delete::<R>(conn, &removed).await?;
        let rows = &self.rows;
        upsert(conn, self.dirty.iter().filter_map(|k| rows.get(k))).await
    }
}

/// Deduplicates keys, keeping the first occurrence order.
pub fn unique<K: Hash + Eq + Copy>(keys: impl IntoIterator<Item = K>) -> Vec<K> {
    let mut seen = HashSet::new();
    keys.into_iter().filter(|k| seen.insert(*k)).collect()
}
