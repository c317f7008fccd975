package schema

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/coldtrace/coldtrace/internal/chtest"
)

// A ClickHouse cluster (several servers and Keeper) cannot run here, so
// the cluster DDL is checked the way a server would first see it: every
// statement goes through the real ClickHouse parser (EXPLAIN AST) of the
// embedded engine, and the assertions read ClickHouse's own canonical
// rendering of it (formatQuerySingleLine), not our template text. The
// single-node DDL is also run for real by migrate_test.go.

// The dash makes every use of the name need quoting.
const testCluster = "traces-prod"

func clusterOptions() Options {
	return Options{Database: "coldtrace", Cluster: testCluster, Retention: 7 * 24 * time.Hour}
}

// everyStatement is what Migrate may run: the DDL of an empty database,
// then the TTL changes of a later --retention change.
func everyStatement(t *testing.T, o Options) []string {
	t.Helper()
	stmts, err := DDL(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range ttlTables {
		stmts = append(stmts, retentionStatements(o, tt.table, tt.expr)...)
	}
	return stmts
}

// canonical parses stmt with ClickHouse's parser and returns it as
// ClickHouse prints it on one line.
func canonical(t *testing.T, conn driver.Conn, stmt string) string {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, "EXPLAIN AST "+stmt)
	if err != nil {
		t.Fatalf("ClickHouse does not parse:\n%s\n%v", stmt, err)
	}
	rows.Close()
	var out string
	if err := conn.QueryRow(ctx, "SELECT formatQuerySingleLine(?)", stmt).Scan(&out); err != nil {
		t.Fatalf("format %s: %v", stmt, err)
	}
	return out
}

var (
	createTableRe     = regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS (\S+) ON CLUSTER (\S+) .*ENGINE = (\w+)\((.*?)\)( |$)`)
	createViewRe      = regexp.MustCompile(`^CREATE MATERIALIZED VIEW IF NOT EXISTS (\S+) ON CLUSTER (\S+) TO (\S+) AS SELECT .* FROM (\S+)`)
	alterTTLRe        = regexp.MustCompile(`^ALTER TABLE (\S+) ON CLUSTER (\S+) \(MODIFY TTL `)
	alterViewRe       = regexp.MustCompile(`^ALTER TABLE (\S+) ON CLUSTER (\S+) \(MODIFY QUERY SELECT .* FROM (\S+)`)
	alterLocalRe      = regexp.MustCompile(`^ALTER TABLE (\S+) ON CLUSTER (\S+) \((?:ADD INDEX IF NOT EXISTS |MODIFY SETTING |MATERIALIZE TTL)`)
	addColumnsRe      = regexp.MustCompile(`^ALTER TABLE (\S+) ON CLUSTER (\S+) (\(ADD COLUMN IF NOT EXISTS .*)$`)
	createDBRe        = regexp.MustCompile(`^CREATE DATABASE IF NOT EXISTS (\S+) ON CLUSTER (\S+)$`)
	dropRe            = regexp.MustCompile(`^DROP (?:TABLE|VIEW) IF EXISTS (\S+) ON CLUSTER (\S+)$`)
	createPlainViewRe = regexp.MustCompile(`^CREATE VIEW IF NOT EXISTS (\S+) ON CLUSTER (\S+) AS SELECT .* FROM (\S+)$`)
	// A backfill: INSERT INTO table SELECT ... FROM table.
	insertSelectRe = regexp.MustCompile(`^INSERT INTO (\S+) (?:\(.*?\) )?SELECT .* FROM (\S+) WHERE`)
	// Distributed(cluster, database, table, sharding key)
	distributedArgsRe = regexp.MustCompile(`^(\S+), (\S+), (\S+), (.+)$`)
	replicatedArgsRe  = regexp.MustCompile(`^'([^']+)', '([^']+)'$`)
)

func TestClusterDDL(t *testing.T) {
	conn := chtest.Client(t)
	o := clusterOptions()
	const db, onCluster = "coldtrace", "`" + testCluster + "`"

	type distributed struct{ local, shardKey string }
	fronts := map[string]distributed{} // Distributed table -> what it fronts
	replicated := map[string]string{}  // table -> Keeper path
	views := map[string][2]string{}    // view -> TO, FROM
	plainViews := map[string]string{}  // view -> FROM
	dropped := map[string]bool{}
	var altered []string
	var backfills [][2]string           // INTO, FROM
	addedColumns := map[string]string{} // table -> the columns its ALTERs added

	for _, stmt := range everyStatement(t, o) {
		c := canonical(t, conn, stmt)
		var cluster string
		switch {
		case createDBRe.MatchString(c):
			m := createDBRe.FindStringSubmatch(c)
			cluster = m[2]
			if m[1] != db {
				t.Errorf("creates database %s, want %s", m[1], db)
			}
		case createTableRe.MatchString(c):
			m := createTableRe.FindStringSubmatch(c)
			table, engine, args := m[1], m[3], m[4]
			cluster = m[2]
			if engine == "Distributed" {
				a := distributedArgsRe.FindStringSubmatch(args)
				if a == nil {
					t.Errorf("%s: Distributed(%s): want cluster, database, table, sharding key", table, args)
					continue
				}
				if a[1] != onCluster || a[2] != db {
					t.Errorf("%s: Distributed over cluster %s database %s, want %s %s", table, a[1], a[2], onCluster, db)
				}
				fronts[table] = distributed{local: a[2] + "." + a[3], shardKey: a[4]}
				continue
			}
			if !strings.HasPrefix(engine, "Replicated") || !strings.HasSuffix(engine, "MergeTree") {
				t.Errorf("%s: engine %s on a cluster, want a Replicated*MergeTree", table, engine)
				continue
			}
			a := replicatedArgsRe.FindStringSubmatch(args)
			if a == nil {
				t.Errorf("%s: %s(%s): want a Keeper path and a replica name", table, engine, args)
				continue
			}
			path, replica := a[1], a[2]
			if table == db+"."+MigrationsTable {
				// One history replicated to every node of every shard.
				if path != "/clickhouse/tables/all/"+db+"/"+MigrationsTable || replica != "{shard}-{replica}" {
					t.Errorf("%s: path %s replica %s, want one path for the whole cluster and a replica name unique across shards", table, path, replica)
				}
			} else {
				if !strings.HasSuffix(table, "_local") {
					t.Errorf("%s: replicated data table without the _local suffix", table)
				}
				if want := "/clickhouse/tables/{shard}/" + strings.Replace(table, ".", "/", 1); path != want || replica != "{replica}" {
					t.Errorf("%s: path %s replica %s, want %s {replica}", table, path, replica, want)
				}
			}
			for other, p := range replicated {
				if p == path {
					t.Errorf("%s and %s share the Keeper path %s", table, other, path)
				}
			}
			replicated[table] = path
		case createViewRe.MatchString(c):
			m := createViewRe.FindStringSubmatch(c)
			cluster = m[2]
			views[m[1]] = [2]string{m[3], m[4]}
		case dropRe.MatchString(c):
			m := dropRe.FindStringSubmatch(c)
			cluster = m[2]
			dropped[m[1]] = true
		case createPlainViewRe.MatchString(c):
			m := createPlainViewRe.FindStringSubmatch(c)
			cluster = m[2]
			plainViews[m[1]] = m[3]
		case insertSelectRe.MatchString(c):
			// Runs on the node that migrates, for every shard: it must
			// read and write the canonical (Distributed) tables.
			m := insertSelectRe.FindStringSubmatch(c)
			backfills = append(backfills, [2]string{m[1], m[2]})
			continue
		case alterLocalRe.MatchString(c):
			// Indexes and storage settings live with the rows, in the
			// shards' tables.
			m := alterLocalRe.FindStringSubmatch(c)
			cluster = m[2]
			if _, ok := replicated[m[1]]; !ok {
				t.Errorf("%s alters %s, want a replicated _local table", c, m[1])
			}
		case addColumnsRe.MatchString(c):
			// Checked below: a Distributed table gets the columns its
			// shards' table gets.
			m := addColumnsRe.FindStringSubmatch(c)
			cluster = m[2]
			addedColumns[m[1]] += m[3]
		case alterViewRe.MatchString(c):
			// A view's new query reads what its first one did: the
			// shard's own rows.
			m := alterViewRe.FindStringSubmatch(c)
			cluster = m[2]
			if v, ok := views[m[1]]; !ok || v[1] != m[3] {
				t.Errorf("%s: alters view %s (created reading %v) to read %s", c, m[1], v, m[3])
			}
		case alterTTLRe.MatchString(c):
			m := alterTTLRe.FindStringSubmatch(c)
			cluster = m[2]
			altered = append(altered, m[1])
		default:
			t.Errorf("unexpected statement on a cluster (no ON CLUSTER?):\n%s", c)
			continue
		}
		if cluster != onCluster {
			t.Errorf("ON CLUSTER %s, want %s:\n%s", cluster, onCluster, c)
		}
	}

	for table, cols := range addedColumns {
		if strings.HasSuffix(table, "_local") {
			if _, ok := replicated[table]; !ok {
				t.Errorf("adds columns to %s, want a replicated _local table", table)
			}
			continue
		}
		f, ok := fronts[table]
		if !ok {
			t.Errorf("adds columns to %s, neither a _local table nor a Distributed one", table)
			continue
		}
		if local := addedColumns[f.local]; local != cols {
			t.Errorf("columns added to %s:\n%s\nto its shards' %s:\n%s", table, cols, f.local, local)
		}
	}
	for table := range addedColumns {
		if f, ok := fronts[strings.TrimSuffix(table, "_local")]; ok && f.local == table {
			continue
		}
		if strings.HasSuffix(table, "_local") {
			t.Errorf("columns added to %s but not to a Distributed table over it", table)
		}
	}

	// Reads and writes use the canonical names: each must be a
	// Distributed table over its replicated *_local table.
	for _, name := range []string{TracesTable, TraceIDLookupTable, FunctionStatsTable, HourlyFunctionStatsTable} {
		table := db + "." + name
		f, ok := fronts[table]
		if !ok {
			t.Errorf("%s is not a Distributed table", table)
			continue
		}
		if f.local != table+"_local" {
			t.Errorf("%s fronts %s, want %s_local", table, f.local, table)
		}
		if _, ok := replicated[f.local]; !ok {
			t.Errorf("%s fronts %s, which is not a replicated table of this DDL", table, f.local)
		}
	}
	// One trace on one shard: spans and their trace-id lookup rows are
	// spread by the same function of the trace id alone, so a trace-by-id
	// read needs one shard's lookup row and the same shard's spans.
	for _, name := range []string{TracesTable, TraceIDLookupTable} {
		if k := fronts[db+"."+name].shardKey; k != "cityHash64(TraceId)" {
			t.Errorf("%s sharded by %q, want cityHash64(TraceId)", name, k)
		}
	}
	// Materialized views fire on inserts into the table they select from:
	// on a cluster that is the shard's own _local table (inserts reach
	// shards there), and they write next to it.
	for _, v := range []struct{ view, to, from string }{
		{TraceIDLookupView, TraceIDLookupTable, TracesTable},
		{FunctionStatsView, FunctionStatsTable, TracesTable},
		{HourlyFunctionStatsView, HourlyFunctionStatsTable, FunctionStatsTable},
	} {
		tf, ok := views[db+"."+v.view]
		if !ok {
			t.Errorf("view %s not created", v.view)
			continue
		}
		if tf[0] != db+"."+v.to+"_local" || tf[1] != db+"."+v.from+"_local" {
			t.Errorf("view %s: TO %s FROM %s, want TO %s.%s_local FROM %s.%s_local", v.view, tf[0], tf[1], db, v.to, db, v.from)
		}
	}
	// The hourly rollup is built from the per-minute one, sharded alike.
	if k := fronts[db+"."+HourlyFunctionStatsTable].shardKey; k != fronts[db+"."+FunctionStatsTable].shardKey {
		t.Errorf("hourly rollup sharded by %q, the per-minute one by %q", k, fronts[db+"."+FunctionStatsTable].shardKey)
	}
	for _, b := range backfills {
		for _, table := range b {
			if _, ok := fronts[table]; !ok {
				t.Errorf("backfill INTO %s FROM %s: %s is not a Distributed table", b[0], b[1], table)
			}
		}
	}
	if len(backfills) != 2 {
		t.Errorf("%d backfills, want 2 (the hourly rollup, the trace-id lookup)", len(backfills))
	}
	// The exporter's lookup name ends as a view of the new lookup: its
	// Distributed table, the shards' tables behind it and the view that
	// fed them are dropped first.
	for _, name := range []string{TraceIDTimesView, TraceIDTimesTable, TraceIDTimesTable + "_local"} {
		if !dropped[db+"."+name] {
			t.Errorf("%s.%s is not dropped", db, name)
		}
	}
	if from := plainViews[db+"."+TraceIDTimesTable]; from != db+"."+TraceIDLookupTable {
		t.Errorf("view %s reads %q, want the Distributed %s.%s", TraceIDTimesTable, from, db, TraceIDLookupTable)
	}
	// TTLs live on the tables that store rows.
	ttlChanged := map[string]bool{}
	for _, table := range altered {
		ttlChanged[table] = true
	}
	if len(ttlChanged) != len(ttlTables) {
		t.Errorf("TTL changes on %v, want the %d tables with a TTL", altered, len(ttlTables))
	}
	for _, table := range altered {
		if _, ok := replicated[table]; !ok || !strings.HasSuffix(table, "_local") {
			t.Errorf("TTL change on %s, want a replicated _local table", table)
		}
	}
}

// The migration lock's statements parse and run ON CLUSTER, so processes
// on different nodes share it.
func TestClusterMigrationLockStatements(t *testing.T) {
	c := chtest.Client(t)
	l := &migrationLock{o: clusterOptions(), owner: lockOwner()}
	for _, stmt := range []string{l.createStatement(), l.heartbeatStatement(3), l.dropStatement()} {
		if got := canonical(t, c, stmt); !strings.Contains(got, "ON CLUSTER `"+testCluster+"`") {
			t.Errorf("not ON CLUSTER: %s", got)
		}
	}
}

// The single-node DDL has none of the cluster's parts, and parses too
// (migrate_test.go runs it).
func TestSingleNodeDDLHasNoClusterParts(t *testing.T) {
	conn := chtest.Client(t)
	o := clusterOptions()
	o.Cluster = ""
	for _, stmt := range everyStatement(t, o) {
		c := canonical(t, conn, stmt)
		for _, part := range []string{"ON CLUSTER", "Replicated", "Distributed", "_local", "{shard}", "{replica}"} {
			if strings.Contains(c, part) {
				t.Errorf("single-node statement has %q:\n%s", part, c)
			}
		}
	}
}

// alterAddColumnsRe matches a rendered ALTER TABLE ... ADD COLUMN and
// captures the table's name.
var alterAddColumnsRe = regexp.MustCompile("(?s)^ALTER TABLE `[^`]+`\\.`([^`]+)` ON CLUSTER `[^`]+`\\s+ADD COLUMN")

// addsDistributedColumns tells a rendered cluster statement that adds
// columns to a Distributed table (not to a _local one).
func addsDistributedColumns(stmt string) bool {
	m := alterAddColumnsRe.FindStringSubmatch(stmt)
	return m != nil && !strings.HasSuffix(m[1], "_local")
}

// The same migrations make both DDLs: each cluster statement is its
// single-node counterpart on other tables with other engines, so a new
// migration cannot drift between the two.
func TestClusterDDLMatchesSingleNode(t *testing.T) {
	single := clusterOptions()
	single.Cluster = ""
	var nonEmpty int
	for _, m := range Migrations {
		cs, err := m.Statements(clusterOptions())
		if err != nil {
			t.Fatal(err)
		}
		ss, err := m.Statements(single)
		if err != nil {
			t.Fatal(err)
		}
		var fromCluster []string
		for _, s := range cs {
			// The Distributed tables, and the columns they get as their
			// shards' tables do.
			if strings.Contains(s, "ENGINE = Distributed(") || addsDistributedColumns(s) {
				continue
			}
			s = strings.ReplaceAll(s, " ON CLUSTER `"+testCluster+"`", " ")
			s = strings.ReplaceAll(s, "_local`", "`")
			s = regexp.MustCompile(`Replicated(\w+)\('[^']*', '[^']*'\)`).ReplaceAllString(s, "$1()")
			fromCluster = append(fromCluster, s)
		}
		if len(fromCluster) != len(ss) {
			t.Fatalf("migration %d: %d cluster statements besides Distributed tables, %d single-node", m.Version, len(fromCluster), len(ss))
		}
		for i := range ss {
			if norm(fromCluster[i]) != norm(ss[i]) {
				t.Errorf("migration %d statement %d differs beyond cluster parts:\ncluster: %s\nsingle:  %s", m.Version, i, fromCluster[i], ss[i])
			}
			nonEmpty++
		}
	}
	if nonEmpty == 0 {
		t.Fatal("no statements compared")
	}
}

func norm(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestClusterNameValidation(t *testing.T) {
	for name, ok := range map[string]bool{
		"":                      true,
		"default":               true,
		"traces-prod":           true,
		"cluster_1":             true,
		"a`b":                   false,
		"x ON CLUSTER y":        false,
		"c'); DROP TABLE t; --": false,
		"-leading":              false,
	} {
		o := clusterOptions()
		o.Cluster = name
		if err := o.Validate(); (err == nil) != ok {
			t.Errorf("cluster %q: Validate() = %v, want ok=%v", name, err, ok)
		}
		if _, err := DDL(o); (err == nil) != ok {
			t.Errorf("cluster %q: DDL error %v, want ok=%v", name, err, ok)
		}
	}
}

func TestRetentionValidation(t *testing.T) {
	for retention, ok := range map[time.Duration]bool{
		59 * time.Minute:         false,
		time.Hour:                true,
		MaxRetention:             true,
		MaxRetention + time.Hour: false,
	} {
		o := clusterOptions()
		o.Retention = retention
		if err := o.Validate(); (err == nil) != ok {
			t.Errorf("retention %v: Validate() = %v, want ok=%v", retention, err, ok)
		}
	}
}
