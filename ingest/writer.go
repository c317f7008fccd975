package ingest

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/coldtrace/coldtrace/ingest/schema"
)

// Writer stores blocks of spans. Write returns nil only once the rows are
// durable in ClickHouse.
type Writer interface {
	Write(ctx context.Context, blocks []*rows) error
}

// clickhouseWriter inserts with clickhouse-go's columnar batch API: each
// column gets whole slices, no per-row reflection.
type clickhouseWriter struct {
	conn      driver.Conn
	insertSQL string
}

func newClickHouseWriter(conn driver.Conn, o schema.Options) *clickhouseWriter {
	cols := make([]string, len(schema.InsertColumns))
	for i, c := range schema.InsertColumns {
		cols[i] = "`" + c + "`"
	}
	return &clickhouseWriter{
		conn:      conn,
		insertSQL: fmt.Sprintf("INSERT INTO %s (%s)", o.Table(schema.TracesTable), strings.Join(cols, ", ")),
	}
}

func (w *clickhouseWriter) Write(ctx context.Context, blocks []*rows) error {
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

// withoutDedup makes an insert unique for ClickHouse's deduplication: the
// tables keep a deduplication window for the spool's tokens, so without a
// token a block identical to a recent one would be dropped. A fresh token
// works on every server version (insert_deduplicate=0 no longer does on
// 26.x non-replicated tables, and its replacement is unknown to older ones).
func withoutDedup(ctx context.Context) context.Context {
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplication_token": "direct:" + uuid.NewString()}))
}

func countRows(blocks []*rows) int {
	n := 0
	for _, b := range blocks {
		n += b.len()
	}
	return n
}
