package schema

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Statements renders every statement of m for o.
func (m Migration) Statements(o Options) ([]string, error) {
	return render(o, m.SQL)
}

// DDL is every statement Migrate runs on an empty database, in order
// (without the TTL changes it makes when --retention changes later): what
// an operator reviews before pointing Coldtrace at a cluster.
func DDL(o Options) ([]string, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	stmts := setupStatements(o)
	for _, m := range Migrations {
		ms, err := m.Statements(o)
		if err != nil {
			return nil, fmt.Errorf("render migration %d: %w", m.Version, err)
		}
		stmts = append(stmts, ms...)
	}
	return stmts, nil
}

// setupStatements create the database and the migration history.
func setupStatements(o Options) []string {
	return []string{databaseStatement(o), historyStatement(o)}
}

// databaseStatement creates the database, which the migration lock
// lives in.
func databaseStatement(o Options) string {
	return fmt.Sprintf("CREATE DATABASE IF NOT EXISTS `%s` %s", o.Database, tmplData{Options: o}.OnCluster())
}

// historyStatement creates the migration history.
func historyStatement(o Options) string {
	engine := "ReplacingMergeTree()"
	if o.Cluster != "" {
		// One history for the whole cluster: every node of every shard is
		// a replica of it. Replica names need only be unique within a
		// shard, so the shard is part of this table's replica name.
		engine = fmt.Sprintf("ReplicatedReplacingMergeTree('/clickhouse/tables/all/%s/%s', '{shard}-{replica}')", o.Database, MigrationsTable)
	}
	return fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s %s (
    Version UInt32, Description String, AppliedAt DateTime64(3)
) ENGINE = %s ORDER BY Version`, o.Table(MigrationsTable), tmplData{Options: o}.OnCluster(), engine)
}

// Migrate brings the database to the newest schema version, records each
// applied migration in MigrationsTable, and sets the retention TTL. It is
// safe to run on every start and from several processes at once: they
// take turns through MigrationLockTable, and every statement is safe to
// rerun after a process died part-way.
func Migrate(ctx context.Context, conn driver.Conn, o Options, log *slog.Logger) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if log == nil {
		log = slog.Default()
	}
	setup := func(stmt string) error {
		if err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("schema setup: %w\n%s", err, stmt)
		}
		return nil
	}
	// The database first: the lock lives in it.
	if err := setup(databaseStatement(o)); err != nil {
		return err
	}
	lock, err := acquireLock(ctx, conn, o, log)
	if err != nil {
		return err
	}
	defer func() {
		// The schema is what matters to this process; a lock left behind
		// costs the next process lockStaleAfter before it breaks it.
		if rerr := lock.release(ctx); rerr != nil {
			log.Warn("schema migration lock left behind; the next process to migrate breaks it after a wait", "err", rerr, "wait", lockStaleAfter)
		}
	}()
	if err := setup(historyStatement(o)); err != nil {
		return err
	}
	if err := apply(ctx, conn, o, Migrations, log); err != nil {
		return err
	}
	return ensureRetention(ctx, conn, o, log)
}

// checkNotNewer refuses a database a newer binary migrated past what ms
// knows: an older binary would read and write tables whose shape it does
// not know (a downgrade), failing later and less clearly, or not at all.
func checkNotNewer(applied map[uint32]bool, ms []Migration) error {
	var known uint32
	for _, m := range ms {
		known = max(known, m.Version)
	}
	var newest uint32
	for v := range applied {
		newest = max(newest, v)
	}
	if newest > known {
		return fmt.Errorf("the database is at migration %d, newer than this binary knows (%d): run a Coldtrace at least as new as the one that migrated it", newest, known)
	}
	return nil
}

// apply runs the migrations of ms not yet recorded, in order, and
// records each.
func apply(ctx context.Context, conn driver.Conn, o Options, ms []Migration, log *slog.Logger) error {
	applied, err := AppliedVersions(ctx, conn, o)
	if err != nil {
		return err
	}
	if err := checkNotNewer(applied, ms); err != nil {
		return err
	}
	var changedViews []string
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		if m.RequiresSetting != "" {
			known, err := knowsMergeTreeSetting(ctx, conn, m.RequiresSetting)
			if err != nil {
				return fmt.Errorf("migration %d: %w", m.Version, err)
			}
			if !known {
				log.Info("schema migration skipped until the server is upgraded: it changes a MergeTree setting this ClickHouse does not have",
					"version", m.Version, "description", m.Description, "setting", m.RequiresSetting)
				continue
			}
		}
		stmts, err := m.Statements(o)
		if err != nil {
			return fmt.Errorf("render migration %d: %w", m.Version, err)
		}
		for _, s := range stmts {
			if err := conn.Exec(ctx, s); err != nil {
				return fmt.Errorf("migration %d (%s): %w\n%s", m.Version, m.Description, err, s)
			}
		}
		if err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s (Version, Description, AppliedAt) VALUES (?, ?, ?)", o.Table(MigrationsTable)),
			m.Version, m.Description, time.Now()); err != nil {
			return fmt.Errorf("record migration %d: %w", m.Version, err)
		}
		log.Info("schema migration applied", "version", m.Version, "description", m.Description, "database", o.Database)
		changedViews = append(changedViews, m.ChangesViews...)
	}
	if o.Embedded {
		return reloadViews(ctx, conn, o, changedViews)
	}
	return nil
}

// reloadViews detaches and attaches again the views a migration changed
// with MODIFY QUERY. After MODIFY QUERY the engine derives other
// deduplication ids for a view's blocks than it does for the same view
// loaded from disk at its next start: a spool batch inserted by the
// process that migrated and replayed by the next one after a crash was
// stored once in the spans and twice in the view's table (the trace-id
// lookup, the rollups). Reattached, the view is the one loaded from disk.
// Only the embedded engine needs it, as it restarts with every process;
// a server keeps the view it has, and other collectors may insert while
// one migrates, which a detached view would miss.
func reloadViews(ctx context.Context, conn driver.Conn, o Options, views []string) error {
	for _, v := range views {
		for _, stmt := range []string{"DETACH TABLE " + o.Table(v), "ATTACH TABLE " + o.Table(v)} {
			if err := conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("reload view %s after its migration: %w", v, err)
			}
		}
	}
	return nil
}

// knowsMergeTreeSetting reports whether the server has the MergeTree
// setting name.
func knowsMergeTreeSetting(ctx context.Context, conn driver.Conn, name string) (bool, error) {
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.merge_tree_settings WHERE name = ?", name).Scan(&n); err != nil {
		return false, fmt.Errorf("look up MergeTree setting %s: %w", name, err)
	}
	return n > 0, nil
}

// AppliedVersions reads the migration history.
func AppliedVersions(ctx context.Context, conn driver.Conn, o Options) (map[uint32]bool, error) {
	rows, err := conn.Query(ctx, fmt.Sprintf("SELECT Version FROM %s FINAL", o.Table(MigrationsTable)))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", MigrationsTable, err)
	}
	defer rows.Close()
	applied := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// ttlTables are the tables whose TTL follows --retention, with the
// expression each one's TTL is computed from.
var ttlTables = []struct{ table, expr string }{
	{TracesTable, "toDateTime(Timestamp)"},
	{TraceIDLookupTable, "Start"},
	{FunctionStatsTable, "Minute"},
	{HourlyFunctionStatsTable, "(Hour + toIntervalHour(1))"}, // migration 11; as ClickHouse prints it
}

// ensureRetention changes the tables' TTL when --retention changed since
// they were created, for the parts already stored too: each part's expiry
// is recomputed from its TTL column (materialize_ttl_recalculate_only, a
// background mutation that reads that one column and rewrites no data).
// Without it a part kept the expiry of the retention it was written
// under, so raising the retention saved nothing already stored, and
// lowering it freed nothing early. Expired parts are dropped whole
// (ttl_only_drop_parts).
func ensureRetention(ctx context.Context, conn driver.Conn, o Options, log *slog.Logger) error {
	for _, t := range ttlTables {
		// The whole expression: an older binary may have set the same
		// interval on another expression (the hourly rollup's before
		// migration 11).
		want := "TTL " + t.expr + " + " + retentionInterval(o)
		store := strings.TrimSuffix(strings.TrimPrefix(o.storageTable(t.table), "`"+o.Database+"`.`"), "`")
		var engineFull string
		err := conn.QueryRow(ctx, "SELECT engine_full FROM system.tables WHERE database = ? AND name = ?", o.Database, store).Scan(&engineFull)
		if err != nil {
			return fmt.Errorf("read TTL of %s: %w", store, err)
		}
		if strings.Contains(engineFull, want) {
			continue
		}
		for _, stmt := range retentionStatements(o, t.table, t.expr) {
			if err := conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("set retention on %s: %w", store, err)
			}
		}
		log.Info("retention changed", "table", store, "retention", o.Retention)
	}
	return nil
}

// retentionStatements set table's TTL to o.Retention after expr, and
// have its stored parts' expiry recomputed.
func retentionStatements(o Options, table, expr string) []string {
	t, on := o.storageTable(table), tmplData{Options: o}.OnCluster()
	return []string{
		fmt.Sprintf("ALTER TABLE %s %s MODIFY SETTING materialize_ttl_recalculate_only = 1", t, on),
		fmt.Sprintf("ALTER TABLE %s %s MODIFY TTL %s + %s", t, on, expr, retentionInterval(o)),
	}
}

func retentionInterval(o Options) string {
	return fmt.Sprintf("toIntervalSecond(%d)", int64(o.Retention/time.Second))
}
