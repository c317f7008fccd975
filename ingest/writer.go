package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/coldtrace/coldtrace/ingest/schema"
)

// Writer stores blocks of spans. Write returns nil only once the rows are
// durable in ClickHouse. Writes with the same token are stored once:
// ClickHouse deduplicates them (insert_deduplication_token).
type Writer interface {
	Write(ctx context.Context, blocks []*rows, token string) error
}

// clickhouseWriter inserts with clickhouse-go's columnar batch API: each
// column gets whole slices, no per-row reflection.
type clickhouseWriter struct {
	conn      driver.Conn
	insertSQL string
	cluster   bool
	// batchOnly is set once the connection turns out not to take
	// pre-encoded data (InsertFormat is HTTP-only in clickhouse-go).
	batchOnly atomic.Bool
}

func newClickHouseWriter(conn driver.Conn, o schema.Options) *clickhouseWriter {
	cols := make([]string, len(schema.InsertColumns))
	for i, c := range schema.InsertColumns {
		cols[i] = "`" + c + "`"
	}
	return &clickhouseWriter{
		conn:      conn,
		insertSQL: fmt.Sprintf("INSERT INTO %s (%s)", o.Table(schema.TracesTable), strings.Join(cols, ", ")),
		cluster:   o.Cluster != "",
	}
}

func (w *clickhouseWriter) Write(ctx context.Context, blocks []*rows, token string) error {
	settings := clickhouse.Settings{
		"insert_deduplication_token": token,
		// Materialized views deduplicate with their source block, so a
		// repeated insert does not count twice in the rollups.
		"deduplicate_blocks_in_dependent_materialized_views": 1,
	}
	if w.cluster {
		// Return only once the shards have the rows, not when the
		// Distributed table has queued them locally.
		settings["distributed_foreground_insert"] = 1
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(settings))
	if !w.batchOnly.Load() {
		data, err := encodeNative(blocks)
		if err != nil {
			return err
		}
		err = w.conn.InsertFormat(ctx, "Native", w.insertSQL, bytes.NewReader(data))
		if !errors.Is(err, clickhouse.ErrFormatNativeUnsupported) {
			if err != nil {
				return fmt.Errorf("insert %d spans: %w", countRows(blocks), err)
			}
			return nil
		}
		w.batchOnly.Store(true)
	}
	return w.writeBatch(ctx, blocks)
}

// writeBatch inserts through clickhouse-go's batch API, for the native
// protocol.
func (w *clickhouseWriter) writeBatch(ctx context.Context, blocks []*rows) error {
	batch, err := w.conn.PrepareBatch(ctx, w.insertSQL)
	if err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	defer batch.Close()
	for _, b := range blocks {
		for i, col := range b.columns() {
			if err := batch.Column(i).Append(col); err != nil {
				return fmt.Errorf("append column %s: %w", schema.InsertColumns[i], err)
			}
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d spans: %w", countRows(blocks), err)
	}
	return nil
}

// uniqueToken names an insert without a stable identity (no spool): the
// tables keep a deduplication window for the spool's tokens, so without a
// token a block identical to a recent one would be dropped. The token is
// kept across the retries of one batch, so a retry after an insert that
// did succeed stores nothing twice. (insert_deduplicate=0 no longer turns
// deduplication off on 26.x non-replicated tables; its replacement is
// unknown to older servers.)
func uniqueToken() string { return "direct:" + uuid.NewString() }

func countRows(blocks []*rows) int {
	n := 0
	for _, b := range blocks {
		n += b.len()
	}
	return n
}
