package schema

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"time"
)

// Options shape the generated DDL.
type Options struct {
	// Database holds every Coldtrace table.
	Database string
	// Cluster, when set, makes the DDL run ON CLUSTER with Replicated
	// engines, and puts Distributed tables (sharded by trace id, so a trace
	// lives on one shard) under the canonical names over *_local tables.
	Cluster string
	// Embedded says the engine runs in this process (chDB), so it
	// restarts with it; see reloadViews.
	Embedded bool
	// Retention is how long spans and rollups are kept (TTL).
	Retention time.Duration
}

var (
	identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// Cluster names come from the servers' remote_servers section, where
	// dashes are common; they are always quoted in the DDL.
	clusterRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
)

// Validate reports invalid options.
func (o Options) Validate() error {
	var errs []error
	if !identRe.MatchString(o.Database) {
		errs = append(errs, fmt.Errorf("schema: invalid database name %q", o.Database))
	}
	if o.Cluster != "" && !clusterRe.MatchString(o.Cluster) {
		errs = append(errs, fmt.Errorf("schema: invalid cluster name %q", o.Cluster))
	}
	if o.Retention < time.Hour {
		errs = append(errs, fmt.Errorf("schema: retention %v is shorter than an hour", o.Retention))
	}
	if o.Retention > MaxRetention {
		errs = append(errs, fmt.Errorf("schema: retention %v is longer than %v: the tables' TTL counts in ClickHouse's DateTime, which ends in 2106", o.Retention, MaxRetention))
	}
	return errors.Join(errs...)
}

// MaxRetention is the longest retention: 20 years. A span's expiry is its
// start plus the retention in ClickHouse's DateTime, which ends in 2106;
// past it every span would expire on arrival.
const MaxRetention = 20 * 365 * 24 * time.Hour

// Table returns the qualified name reads and writes use.
func (o Options) Table(name string) string { return "`" + o.Database + "`.`" + name + "`" }

// storageTable is where a table's rows are stored: the table itself on a
// single node, its *_local shard table on a cluster.
func (o Options) storageTable(name string) string {
	if o.Cluster != "" {
		return o.Table(name + "_local")
	}
	return o.Table(name)
}

type tmplData struct {
	Options
	RetentionSeconds int64
}

func (d tmplData) OnCluster() string {
	if d.Cluster == "" {
		return ""
	}
	return "ON CLUSTER `" + d.Cluster + "`"
}

// Engine renders a MergeTree-family engine, Replicated on a cluster.
func (d tmplData) Engine(kind, table string) string {
	if d.Cluster == "" {
		return kind + "()"
	}
	return fmt.Sprintf("Replicated%s('/clickhouse/tables/{shard}/%s/%s', '{replica}')", kind, d.Database, table+"_local")
}

// Store is the storage table name (see storageTable).
func (d tmplData) Store(name string) string { return d.storageTable(name) }

// TTLTables are the tables whose TTL follows the retention (ttlTables).
func (d tmplData) TTLTables() []string {
	names := make([]string, len(ttlTables))
	for i, t := range ttlTables {
		names[i] = t.table
	}
	return names
}

// Distributed renders the Distributed table that fronts a *_local table
// on a cluster, or nothing on a single node. Unless the client asks for
// distributed_foreground_insert, an insert returns once the receiving
// node has queued the rows for their shards on its own disk: the fsync
// settings keep that queue across a power loss, since the spool forgets
// a batch as soon as the insert returns.
func (d tmplData) Distributed(name, shardKey string) string {
	if d.Cluster == "" {
		return ""
	}
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s %s AS %s ENGINE = Distributed(`%s`, `%s`, `%s`, %s) SETTINGS fsync_after_insert = 1, fsync_directories = 1",
		d.Table(name), d.OnCluster(), d.storageTable(name), d.Cluster, d.Database, name+"_local", shardKey)
}

func render(o Options, text string) ([]string, error) {
	t, err := template.New("ddl").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, tmplData{Options: o, RetentionSeconds: int64(o.Retention / time.Second)}); err != nil {
		return nil, err
	}
	var stmts []string
	for _, s := range strings.Split(buf.String(), ";\n") {
		if s = strings.TrimSpace(s); s != "" {
			stmts = append(stmts, s)
		}
	}
	return stmts, nil
}
