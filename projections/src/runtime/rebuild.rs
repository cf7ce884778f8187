//! Rebuilding a projection from the first event, without a reader ever seeing an empty or
//! half-built table: the tables are built in a fresh schema beside the live one, caught up, and
//! swapped in with the checkpoint in one transaction.

use infrastructure::event_store::{GlobalStream, Position};
use infrastructure::privacy::PersonalData;
use sqlx::{Connection, PgPool};

use super::runner::apply_batch;
use super::{checkpoint, schema_of, Projection, ProjectionError};

/// Events per batch while rebuilding: larger than live batches, for throughput.
const REBUILD_BATCH: i64 = 10_000;

/// Reports progress: events applied so far, and the events to apply in all (as counted at start).
pub type RebuildProgress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildReport {
    /// Events applied.
    pub events: u64,
    /// The checkpoint it left.
    pub position: Position,
}

/// A rebuild failed; the live tables are untouched.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// Another process is rebuilding the same projection.
    #[error("a rebuild of {0} is already running")]
    AlreadyRunning(String),
    /// The projection has no live schema (its migration did not run).
    #[error("projection {0} has no schema {1}: run the migrations")]
    NoSchema(String, String),
    /// The database failed.
    #[error("database error while rebuilding")]
    Database(#[from] sqlx::Error),
    /// The projection refused an event.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}

/// Rebuilds `projection` from the first event into fresh tables and swaps them in. The calls'
/// personal fields reach it sealed, as stored: use [`rebuild_opened`] for a projection that
/// keeps any.
pub async fn rebuild(
    pool: &PgPool,
    projection: &dyn Projection,
    progress: RebuildProgress<'_>,
) -> Result<RebuildReport, RebuildError> {
    rebuild_opened(pool, None, projection, progress).await
}

/// As [`rebuild`], with the calls' personal fields opened by `privacy`: an erased caller's
/// read `[erased]`, so the rebuilt tables hold none of it.
pub async fn rebuild_opened(
    pool: &PgPool,
    privacy: Option<&PersonalData>,
    projection: &dyn Projection,
    progress: RebuildProgress<'_>,
) -> Result<RebuildReport, RebuildError> {
    let name = projection.name();
    let live = schema_of(name);
    let scratch = format!("{live}__rebuild");
    let old = format!("{live}__old");

    // One rebuild per projection at a time, across processes.
    let mut guard = pool.acquire().await?.detach();
    let key = format!("callassist.rebuild.{name}");
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
        .bind(&key)
        .fetch_one(&mut guard)
        .await?;
    if !locked {
        return Err(RebuildError::AlreadyRunning(name.to_owned()));
    }

    let tables: Vec<String> =
        sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = $1")
            .bind(&live)
            .fetch_all(pool)
            .await?;
    let schema_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(&live)
            .fetch_one(pool)
            .await?;
    if !schema_exists {
        return Err(RebuildError::NoSchema(name.to_owned(), live));
    }
    let mut setup = pool.begin().await?;
    sqlx::query(&format!(r#"DROP SCHEMA IF EXISTS "{scratch}" CASCADE"#))
        .execute(&mut *setup)
        .await?;
    sqlx::query(&format!(r#"CREATE SCHEMA "{scratch}""#))
        .execute(&mut *setup)
        .await?;
    for table in &tables {
        sqlx::query(&format!(
            r#"CREATE TABLE "{scratch}"."{table}" (LIKE "{live}"."{table}" INCLUDING ALL)"#
        ))
        .execute(&mut *setup)
        .await?;
    }
    // Secondary indexes are built once at the end, under the live tables' index names, rather
    // than maintained row by row during the load; unique ones (and primary keys) stay, since
    // projections upsert against them.
    let non_unique = "SELECT i.relname::text, pg_get_indexdef(x.indexrelid) FROM pg_index x \
           JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
           JOIN pg_namespace n ON n.oid = t.relnamespace \
          WHERE n.nspname = $1 AND NOT x.indisunique";
    let copied: Vec<(String, String)> = sqlx::query_as(non_unique)
        .bind(&scratch)
        .fetch_all(&mut *setup)
        .await?;
    for (index, _) in &copied {
        sqlx::query(&format!(r#"DROP INDEX "{scratch}"."{index}""#))
            .execute(&mut *setup)
            .await?;
    }
    let live_indexes: Vec<(String, String)> = sqlx::query_as(non_unique)
        .bind(&live)
        .fetch_all(&mut *setup)
        .await?;
    let deferred: Vec<String> = live_indexes
        .into_iter()
        .map(|(_, definition)| {
            definition
                .replacen(&format!(" ON {live}."), &format!(r#" ON "{scratch}"."#), 1)
                .replacen(
                    &format!(r#" ON "{live}"."#),
                    &format!(r#" ON "{scratch}"."#),
                    1,
                )
        })
        .collect();
    setup.commit().await?;

    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    let total = u64::try_from(total).unwrap_or(0);
    let stream = GlobalStream::new(pool.clone()).with_privacy(privacy.cloned());
    // Reading and applying overlap: a reader task fetches the next batches while this one
    // applies the current, so a rebuild runs at the pace of the slower of the two.
    let (batches, mut to_apply) = tokio::sync::mpsc::channel(2);
    let reader = {
        let stream = stream.clone();
        tokio::spawn(async move {
            let mut position = Position::START;
            loop {
                let batch = match stream.read_after(position, REBUILD_BATCH).await {
                    Ok(batch) => batch,
                    Err(err) => {
                        let _ = batches.send(Err(err)).await;
                        return;
                    }
                };
                let Some(last) = batch.last().map(|event| event.position) else {
                    return;
                };
                position = last;
                if batches.send(Ok(batch)).await.is_err() {
                    return;
                }
            }
        })
    };
    let mut position = Position::START;
    let mut applied: u64 = 0;
    while let Some(batch) = to_apply.recv().await {
        let batch = batch?;
        let Some(last) = batch.last().map(|event| event.position) else {
            break;
        };
        let mut tx = pool.begin().await?;
        // Nothing reads the scratch tables before the swap, whose commit is synchronous and
        // flushes the WAL of these batches too: no need to wait for each batch's flush.
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        apply_batch(&mut tx, projection, &scratch, &batch).await?;
        tx.commit().await?;
        position = last;
        applied += batch.len() as u64;
        progress(applied, total.max(applied));
    }
    reader.abort();
    for definition in &deferred {
        sqlx::query(definition).execute(pool).await?;
    }

    // The swap: hold the live checkpoint so the live runner pauses, take in what was appended
    // meanwhile, and exchange the schemas.
    let mut tx = pool.begin().await?;
    checkpoint::lock(&mut tx, name).await?;
    loop {
        let batch = stream.read_after(position, REBUILD_BATCH).await?;
        let Some(last) = batch.last().map(|event| event.position) else {
            break;
        };
        apply_batch(&mut tx, projection, &scratch, &batch).await?;
        position = last;
        applied += batch.len() as u64;
    }
    sqlx::query(&format!(r#"ALTER SCHEMA "{live}" RENAME TO "{old}""#))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!(r#"ALTER SCHEMA "{scratch}" RENAME TO "{live}""#))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!(r#"DROP SCHEMA "{old}" CASCADE"#))
        .execute(&mut *tx)
        .await?;
    checkpoint::reset(
        &mut tx,
        name,
        projection.version(),
        position,
        i64::try_from(applied).unwrap_or(i64::MAX),
    )
    .await?;
    tx.commit().await?;
    progress(applied, total.max(applied));
    guard.close().await.ok();
    Ok(RebuildReport {
        events: applied,
        position,
    })
}
