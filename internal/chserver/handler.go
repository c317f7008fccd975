// Package chserver serves the embedded engine over ClickHouse's HTTP
// interface, so clickhouse-go (in HTTP mode), curl and Grafana's ClickHouse
// data source talk to it exactly as they talk to a ClickHouse server.
package chserver

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/ClickHouse/ch-go/compress"
	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/klauspost/compress/zstd"

	"github.com/coldtrace/coldtrace/internal/chdb"
)

// Handler answers ClickHouse HTTP requests with the embedded engine.
type Handler struct {
	engine *chdb.Engine
	log    *slog.Logger
	// MaxQuerySize bounds SQL text read from a request body.
	MaxQuerySize int64
}

// NewHandler returns a Handler for engine.
func NewHandler(engine *chdb.Engine, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{engine: engine, log: log, MaxQuerySize: 16 << 20}
}

// Parameters of the HTTP interface that are not settings.
var httpOnlyParams = map[string]bool{
	"query": true, "database": true, "default_format": true, "user": true, "password": true,
	"query_id": true, "session_id": true, "session_timeout": true, "session_check": true,
	"compress": true, "decompress": true, "client_protocol_version": true, "buffer_size": true,
	"wait_end_of_query": true, "quota_key": true, "network_compression_method": true,
	"network_zstd_compression_level": true, "enable_http_compression": true,
}

// helloQuery is what clickhouse-go sends first on an HTTP connection. It
// decodes the answer as protocol revision 54460 and afterwards decodes every
// block at the revision the answer reports. libchdb writes revision-0
// Native, so the handler answers this query itself, in 54460 framing,
// reporting revision 0.
const helloQuery = "SELECT displayName(), version(), revision(), timezone()"

// helloRevision is the revision clickhouse-go uses to decode helloQuery.
const helloRevision = 54460

type request struct {
	sql       string
	data      io.Reader // INSERT data, when the statement came in the URL
	database  string
	format    string
	settings  map[string]string
	params    []chdb.Param
	compress  bool
	queryID   string
	clientRev int
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/ping", "/replicas_status":
		io.WriteString(w, "Ok.\n")
		return
	case "/", "":
	default:
		http.Error(w, "There is no handle "+r.URL.Path, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	req, err := h.parse(r)
	if err != nil {
		writeException(w, err)
		return
	}
	if req == nil { // GET / without a query
		io.WriteString(w, "Ok.\n")
		return
	}
	if req.queryID != "" {
		w.Header().Set("X-ClickHouse-Query-Id", req.queryID)
	}
	w.Header().Set("X-ClickHouse-Format", req.format)
	if err := h.run(r.Context(), w, req); err != nil {
		writeException(w, err)
	}
}

func (h *Handler) parse(r *http.Request) (*request, error) {
	q := r.URL.Query()
	req := &request{
		database: q.Get("database"),
		format:   q.Get("default_format"),
		settings: map[string]string{},
		compress: q.Get("compress") == "1",
		queryID:  q.Get("query_id"),
	}
	if db := r.Header.Get("X-ClickHouse-Database"); db != "" && req.database == "" {
		req.database = db
	}
	if f := r.Header.Get("X-ClickHouse-Format"); f != "" && req.format == "" {
		req.format = f
	}
	if req.format == "" {
		req.format = "TabSeparated"
	}
	req.clientRev, _ = strconv.Atoi(q.Get("client_protocol_version"))
	for k, vs := range q {
		if len(vs) == 0 {
			continue
		}
		switch {
		case strings.HasPrefix(k, "param_"):
			req.params = append(req.params, chdb.Param{Name: strings.TrimPrefix(k, "param_"), Value: vs[len(vs)-1]})
		case !httpOnlyParams[k]:
			req.settings[k] = vs[len(vs)-1]
		}
	}

	body, err := decodeBody(r, q.Get("decompress") == "1")
	if err != nil {
		return nil, err
	}
	sql := q.Get("query")
	switch {
	case r.Method != http.MethodPost:
		if sql == "" {
			return nil, nil
		}
		req.sql = sql
	case sql == "":
		b, err := io.ReadAll(io.LimitReader(body, h.MaxQuerySize+1))
		if err != nil {
			return nil, fmt.Errorf("read query: %w", err)
		}
		if int64(len(b)) > h.MaxQuerySize {
			return nil, &chdb.Exception{Code: 62, Name: "SYNTAX_ERROR", Message: "Query is too large"}
		}
		req.sql = string(b)
	case isInsertWithFormat(sql):
		req.sql, req.data = sql, body
	default:
		// As in ClickHouse: the body continues the statement from the URL.
		b, err := io.ReadAll(io.LimitReader(body, h.MaxQuerySize+1))
		if err != nil {
			return nil, fmt.Errorf("read query: %w", err)
		}
		req.sql = sql
		if len(bytes.TrimSpace(b)) > 0 {
			req.sql += "\n" + string(b)
		}
	}
	return req, nil
}

var insertWithFormat = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s.*\sFORMAT\s+[A-Za-z0-9_]+\s*;?\s*$`)

func isInsertWithFormat(sql string) bool { return insertWithFormat.MatchString(sql) }

// decodeBody undoes HTTP content encoding and ClickHouse's block
// compression (decompress=1).
func decodeBody(r *http.Request, chCompressed bool) (io.Reader, error) {
	var body io.Reader = r.Body
	if body == nil {
		body = http.NoBody
	}
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		gz, err := gzip.NewReader(body)
		if err != nil {
			return nil, &chdb.Exception{Code: 354, Name: "CANNOT_DECOMPRESS", Message: "gzip body: " + err.Error()}
		}
		body = gz
	case "zstd":
		zr, err := zstd.NewReader(body)
		if err != nil {
			return nil, &chdb.Exception{Code: 354, Name: "CANNOT_DECOMPRESS", Message: "zstd body: " + err.Error()}
		}
		body = zr.IOReadCloser()
	default:
		return nil, &chdb.Exception{Code: 354, Name: "CANNOT_DECOMPRESS", Message: "unsupported Content-Encoding " + strconv.Quote(enc)}
	}
	if chCompressed {
		body = eofReader{compress.NewReader(body)}
	}
	return body, nil
}

// eofReader reports io.EOF plainly: ch-go's block reader wraps the EOF
// after the last block ("read next block: header: EOF").
type eofReader struct{ r io.Reader }

func (e eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && errors.Is(err, io.EOF) {
		err = io.EOF
	}
	return n, err
}

func (h *Handler) run(ctx context.Context, w http.ResponseWriter, req *request) error {
	if req.clientRev > 0 && strings.TrimSpace(req.sql) == helloQuery {
		return h.hello(ctx, w, req)
	}
	conn, err := h.engine.Acquire(ctx)
	if err != nil {
		return err
	}
	defer h.engine.Release(conn)
	if err := conn.Prepare(req.database, req.settings); err != nil {
		return err
	}
	var res *chdb.Result
	if req.data != nil {
		res, err = conn.Insert(req.sql, req.data, req.params)
	} else {
		res, err = conn.Query(req.sql, req.format, req.params)
	}
	if err != nil {
		return err
	}
	defer res.Close()
	w.Header().Set("X-ClickHouse-Summary", fmt.Sprintf(`{"read_rows":"%d","read_bytes":"%d","elapsed_ns":"%d"}`,
		res.RowsRead, res.BytesRead, int64(res.Elapsed*1e9)))
	return writeBody(w, res.Bytes(), req.compress)
}

// hello answers clickhouse-go's handshake query (see helloQuery).
func (h *Handler) hello(ctx context.Context, w http.ResponseWriter, req *request) error {
	out, err := h.engine.Query(ctx, "SELECT displayName(), version(), timezone()", "TabSeparated")
	if err != nil {
		return err
	}
	f := strings.Split(strings.TrimRight(string(out), "\n"), "\t")
	if len(f) != 3 {
		return fmt.Errorf("unexpected server info %q", out)
	}
	block := proto.NewBlock()
	for _, c := range []struct{ name, typ string }{
		{"displayName()", "String"}, {"version()", "String"}, {"revision()", "UInt32"}, {"timezone()", "String"},
	} {
		if err := block.AddColumn(c.name, column.Type(c.typ)); err != nil {
			return err
		}
	}
	if err := block.Append(f[0], f[1], uint32(0), f[2]); err != nil {
		return err
	}
	var buf chproto.Buffer
	if err := block.Encode(&buf, helloRevision); err != nil {
		return err
	}
	return writeBody(w, buf.Buf, req.compress)
}

// compressedChunk keeps each ClickHouse compressed block well under the
// readers' limit.
const compressedChunk = 1 << 20

// writeBody writes out, in ClickHouse block framing when the client asked
// for compress=1. Blocks use method None: the bytes never leave the
// process or the loopback interface, and real compression costs 3-17x
// on scans.
func writeBody(w http.ResponseWriter, out []byte, framed bool) error {
	if !framed {
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		_, err := w.Write(out)
		return ignoreClientGone(err)
	}
	cw := compress.NewWriter(compress.LevelZero, compress.None)
	for len(out) > 0 {
		n := min(len(out), compressedChunk)
		if err := cw.Compress(out[:n]); err != nil {
			return err
		}
		if _, err := w.Write(cw.Data); err != nil {
			return ignoreClientGone(err)
		}
		out = out[n:]
	}
	return nil
}

// errResponseStarted marks an error after the body began; the client sees
// a truncated response.
var errResponseStarted = errors.New("response already started")

func ignoreClientGone(err error) error {
	if err != nil {
		return fmt.Errorf("%w: %v", errResponseStarted, err)
	}
	return nil
}

func writeException(w http.ResponseWriter, err error) {
	if errors.Is(err, errResponseStarted) {
		return
	}
	var ex *chdb.Exception
	if !errors.As(err, &ex) {
		ex = &chdb.Exception{Code: 1001, Name: "STD_EXCEPTION", Message: err.Error()}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			ex = &chdb.Exception{Code: 159, Name: "TIMEOUT_EXCEEDED", Message: err.Error()}
		}
	}
	w.Header().Set("X-ClickHouse-Exception-Code", strconv.Itoa(ex.Code))
	if ex.Name != "" {
		w.Header().Set("X-ClickHouse-Exception-Name", ex.Name)
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(statusFor(ex.Code))
	io.WriteString(w, ex.Error()+"\n")
}

// statusFor follows the server's mapping of exception codes to statuses.
func statusFor(code int) int {
	switch code {
	case 62, 27, 26, 6, 36, 47, 46, 73, 115, 354, 456, 457, 72, 38, 41, 69, 53, 117:
		return http.StatusBadRequest
	case 60, 81, 390, 16:
		return http.StatusNotFound
	case 164, 497, 516:
		return http.StatusForbidden
	case 159:
		return http.StatusGatewayTimeout
	default:
		return http.StatusInternalServerError
	}
}
