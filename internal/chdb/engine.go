package chdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Options configure an embedded engine.
type Options struct {
	// Path is the directory holding the engine's data. Only one process may
	// use it at a time, and a process may only have one path open.
	Path string
	// Connections is the number of engine connections, i.e. how many
	// statements run at once. Each connection runs one statement at a time.
	Connections int
}

// Engine is the embedded ClickHouse engine with a fixed pool of connections.
// It is safe for concurrent use.
type Engine struct {
	lib   *lib
	path  string
	pool  chan *Conn
	conns []*Conn

	mu     sync.Mutex
	closed bool
}

var (
	processMu     sync.Mutex
	processEngine *Engine
	processRefs   int
)

// Open starts the engine on opts.Path, or returns the engine this process
// already runs on that path. The engine stays up until every Open has been
// matched by a Close: libchdb boots once per process and shutting it down
// and booting it again is not reliable, so callers share one engine.
func Open(opts Options) (*Engine, error) {
	if opts.Path == "" {
		return nil, errors.New("chdb: empty data path")
	}
	abs, err := absPath(opts.Path)
	if err != nil {
		return nil, err
	}
	processMu.Lock()
	defer processMu.Unlock()
	if processEngine != nil {
		if processEngine.path != abs {
			return nil, fmt.Errorf("chdb: engine already open on %s; one process can serve one data path (asked for %s)", processEngine.path, abs)
		}
		processRefs++
		return processEngine, nil
	}
	l, err := load()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("chdb: create data path: %w", err)
	}
	n := opts.Connections
	if n <= 0 {
		n = max(2, runtime.NumCPU())
	}
	e := &Engine{lib: l, path: abs, pool: make(chan *Conn, n)}
	for i := 0; i < n; i++ {
		c, err := e.connect()
		if err != nil {
			e.closeAll()
			return nil, err
		}
		e.conns = append(e.conns, c)
		e.pool <- c
	}
	processEngine, processRefs = e, 1
	return e, nil
}

func absPath(p string) (string, error) {
	if err := os.MkdirAll(p, 0o755); err != nil {
		return "", fmt.Errorf("chdb: create data path: %w", err)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("chdb: data path: %w", err)
	}
	return abs, nil
}

func (e *Engine) connect() (*Conn, error) {
	args := []string{"coldtrace", "--path=" + e.path}
	cargs := make([][]byte, len(args))
	ptrs := make([]unsafe.Pointer, len(args)+1)
	for i, a := range args {
		cargs[i] = cString(a)
		ptrs[i] = unsafe.Pointer(&cargs[i][0])
	}
	saved := saveSignals()
	pp := e.lib.connect(int32(len(args)), unsafe.Pointer(&ptrs[0]))
	saved.restore()
	runtime.KeepAlive(cargs)
	if pp == nil || *(*unsafe.Pointer)(pp) == nil {
		return nil, fmt.Errorf("chdb: connect to %s failed (is another process using this data directory?)", e.path)
	}
	return &Conn{e: e, handle: pp, settings: map[string]string{}}, nil
}

// Path is the engine's data directory.
func (e *Engine) Path() string { return e.path }

// LibraryPath is the libchdb.so in use.
func (e *Engine) LibraryPath() string { return e.lib.path }

// Acquire takes a connection from the pool, waiting until one is free or
// ctx ends. Callers must Release it.
func (e *Engine) Acquire(ctx context.Context) (*Conn, error) {
	select {
	case c := <-e.pool:
		e.mu.Lock()
		closed := e.closed
		e.mu.Unlock()
		if closed {
			e.pool <- c
			return nil, ErrClosed
		}
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Release returns c to the pool.
func (e *Engine) Release(c *Conn) { e.pool <- c }

// Query runs one statement on a pooled connection with default settings.
func (e *Engine) Query(ctx context.Context, sql, format string) ([]byte, error) {
	c, err := e.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer e.Release(c)
	if err := c.Prepare("", nil); err != nil {
		return nil, err
	}
	res, err := c.Query(sql, format, nil)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	return append([]byte(nil), res.Bytes()...), nil
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("chdb: engine closed")

// Close releases this caller's reference; the last one shuts the engine down.
func (e *Engine) Close() error {
	processMu.Lock()
	defer processMu.Unlock()
	if processEngine != e {
		return nil
	}
	processRefs--
	if processRefs > 0 {
		return nil
	}
	e.closeAll()
	processEngine = nil
	return nil
}

func (e *Engine) closeAll() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	// Wait for every connection to come back so none is mid-statement.
	for range e.conns {
		<-e.pool
	}
	// Any later Acquire must not block forever.
	for range e.conns {
		e.pool <- nil
	}
	for _, c := range e.conns {
		e.lib.closeConn(c.handle)
	}
	e.conns = nil
}

// Conn is one engine connection. It carries session state (current
// database, settings), which Prepare brings to what a request asks for.
type Conn struct {
	e        *Engine
	handle   unsafe.Pointer // chdb_connection*
	database string
	settings map[string]string
}

func (c *Conn) conn() unsafe.Pointer { return *(*unsafe.Pointer)(c.handle) }

// Param is a server-side query parameter ({name:Type} placeholder). Value
// is in ClickHouse's escaped text form, as on the HTTP interface.
type Param struct{ Name, Value string }

// Result is a statement's output, owned by the engine until Close.
type Result struct {
	lib *lib
	res unsafe.Pointer
	buf []byte
	// RowsRead and BytesRead are what the engine reports for the statement.
	RowsRead, BytesRead uint64
	Elapsed             float64
}

// Bytes is the formatted output; valid until Close.
func (r *Result) Bytes() []byte { return r.buf }

// Close frees the engine's buffer.
func (r *Result) Close() {
	if r.res != nil {
		r.lib.destroyResult(r.res)
		r.res, r.buf = nil, nil
	}
}

// dropSync matches DROP/DETACH ... SYNC. libchdb 26.5 never finishes a
// synchronous drop (it waits for a background drop that the embedded
// engine does not run), which would hang the connection for good.
var dropSync = regexp.MustCompile(`(?is)^(\s*(?:DROP|DETACH)\s.*?)\s+SYNC\s*;?\s*$`)

// Query runs sql and returns its output in format.
func (c *Conn) Query(sql, format string, params []Param) (*Result, error) {
	l := c.e.lib
	if m := dropSync.FindStringSubmatch(sql); m != nil {
		sql = m[1]
	}
	q := []byte(sql)
	if len(q) == 0 {
		return nil, &Exception{Code: 62, Name: "SYNTAX_ERROR", Message: "Empty query"}
	}
	f := cString(format)
	var res unsafe.Pointer
	if len(params) == 0 {
		res = l.queryN(c.conn(), unsafe.Pointer(&q[0]), uintptr(len(q)), unsafe.Pointer(&f[0]), uintptr(len(format)))
	} else {
		names := make([]unsafe.Pointer, len(params))
		nameLens := make([]uintptr, len(params))
		values := make([]unsafe.Pointer, len(params))
		valueLens := make([]uintptr, len(params))
		keep := make([][]byte, 0, 2*len(params))
		for i, p := range params {
			n, v := cString(p.Name), cString(p.Value)
			keep = append(keep, n, v)
			names[i], nameLens[i] = unsafe.Pointer(&n[0]), uintptr(len(p.Name))
			values[i], valueLens[i] = unsafe.Pointer(&v[0]), uintptr(len(p.Value))
		}
		res = l.queryParamsN(c.conn(), unsafe.Pointer(&q[0]), uintptr(len(q)), unsafe.Pointer(&f[0]), uintptr(len(format)),
			unsafe.Pointer(&names[0]), unsafe.Pointer(&nameLens[0]), unsafe.Pointer(&values[0]), unsafe.Pointer(&valueLens[0]), uintptr(len(params)))
		runtime.KeepAlive(keep)
	}
	runtime.KeepAlive(q)
	runtime.KeepAlive(f)
	if res == nil {
		return nil, &Exception{Code: 1000, Name: "CHDB_ERROR", Message: "chdb returned no result"}
	}
	if msg := goString(l.resultError(res)); msg != "" {
		l.destroyResult(res)
		return nil, ParseException(msg)
	}
	r := &Result{lib: l, res: res, RowsRead: l.resultRowsRead(res), BytesRead: l.resultBytesRead(res), Elapsed: l.resultElapsed(res)}
	if n := l.resultLength(res); n > 0 {
		r.buf = unsafe.Slice((*byte)(l.resultBuffer(res)), n)
	}
	return r, nil
}

// Exec runs a statement and discards its output.
func (c *Conn) Exec(sql string) error {
	res, err := c.Query(sql, "Null", nil)
	if err != nil {
		return err
	}
	res.Close()
	return nil
}

var settingName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

// Prepare makes the session's current database and settings match what a
// request asks for: settings the request does not mention go back to their
// defaults, so one request's settings never leak into the next.
func (c *Conn) Prepare(database string, settings map[string]string) error {
	if database != "" && database != c.database {
		if err := c.Exec("USE " + QuoteIdent(database)); err != nil {
			return err
		}
		c.database = database
	}
	var sets []string
	for k, v := range settings {
		if !settingName.MatchString(k) {
			return &Exception{Code: 115, Name: "UNKNOWN_SETTING", Message: "Invalid setting name " + strconv.Quote(k)}
		}
		if cur, ok := c.settings[k]; !ok || cur != v {
			sets = append(sets, k+" = "+QuoteString(v))
		}
	}
	for k := range c.settings {
		if _, ok := settings[k]; !ok {
			sets = append(sets, k+" = DEFAULT")
		}
	}
	if len(sets) == 0 {
		return nil
	}
	if err := c.Exec("SET " + strings.Join(sets, ", ")); err != nil {
		// The session may now hold some of the settings; forget what we
		// know so the next Prepare resets everything it can.
		for k := range settings {
			c.settings[k] = "\x00unknown"
		}
		return err
	}
	clear(c.settings)
	for k, v := range settings {
		c.settings[k] = v
	}
	return nil
}

var formatClause = regexp.MustCompile(`(?is)^(.*?)\s+FORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$`)

// Insert runs an INSERT whose data (in the statement's FORMAT) comes from
// data. libchdb ends inline INSERT data at the first blank line, which
// truncates binary formats, so the data goes through a memfd the engine
// reads as a file.
func (c *Conn) Insert(sql string, data io.Reader, params []Param) (*Result, error) {
	m := formatClause.FindStringSubmatch(sql)
	if m == nil {
		return nil, &Exception{Code: 73, Name: "UNKNOWN_FORMAT", Message: "INSERT with a data body needs a FORMAT clause"}
	}
	fd, err := unix.MemfdCreate("coldtrace-insert", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("chdb: memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd")
	defer f.Close()
	if _, err := io.Copy(f, data); err != nil {
		return nil, fmt.Errorf("chdb: buffer insert data: %w", err)
	}
	stmt := fmt.Sprintf("%s FROM INFILE '/proc/self/fd/%d' COMPRESSION 'none' FORMAT %s", m[1], fd, m[2])
	return c.Query(stmt, "Null", params)
}

// QuoteIdent quotes a ClickHouse identifier.
func QuoteIdent(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}

// QuoteString quotes a ClickHouse string literal.
func QuoteString(s string) string {
	return "'" + strings.NewReplacer("\\", "\\\\", "'", "\\'").Replace(s) + "'"
}
