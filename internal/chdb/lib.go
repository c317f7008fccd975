// Package chdb runs the ClickHouse engine in-process through libchdb.
//
// The library is loaded lazily with purego, so binaries that never ask for
// the embedded engine start and work on machines without libchdb.
package chdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// LibraryVersion is the libchdb release Coldtrace is built and tested against.
const LibraryVersion = "26.5.3"

// NPMPackage is the npm package that ships LibraryVersion's libchdb.so.
const NPMPackage = "@chdb/lib-linux-x64-gnu"

// ErrLibraryNotFound is returned when no libchdb.so can be located.
var ErrLibraryNotFound = errors.New("libchdb.so not found")

// lib holds the resolved C entry points. Field names follow the C API.
type lib struct {
	path string

	connect      func(argc int32, argv unsafe.Pointer) unsafe.Pointer
	closeConn    func(conn unsafe.Pointer)
	queryN       func(conn unsafe.Pointer, query unsafe.Pointer, queryLen uintptr, format unsafe.Pointer, formatLen uintptr) unsafe.Pointer
	queryParamsN func(conn unsafe.Pointer, query unsafe.Pointer, queryLen uintptr, format unsafe.Pointer, formatLen uintptr,
		names unsafe.Pointer, nameLens unsafe.Pointer, values unsafe.Pointer, valueLens unsafe.Pointer, count uintptr) unsafe.Pointer
	resultBuffer      func(res unsafe.Pointer) unsafe.Pointer
	resultLength      func(res unsafe.Pointer) uintptr
	resultError       func(res unsafe.Pointer) unsafe.Pointer
	resultRowsRead    func(res unsafe.Pointer) uint64
	resultBytesRead   func(res unsafe.Pointer) uint64
	resultElapsed     func(res unsafe.Pointer) float64
	destroyResult     func(res unsafe.Pointer)
	setSignalsEnabled func(enabled int32)
}

var (
	loadOnce sync.Once
	loaded   *lib
	loadErr  error
)

// DefaultCacheDir is where the set-up script installs libchdb.so.
func DefaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "coldtrace", "chdb", LibraryVersion)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "coldtrace", "chdb", LibraryVersion)
	}
	return filepath.Join(home, ".cache", "coldtrace", "chdb", LibraryVersion)
}

// FindLibrary returns the path of libchdb.so: CHDB_LIB_PATH (a file or a
// directory holding it) when set, else the set-up script's cache
// directory. A CHDB_LIB_PATH without the library is an error, not a reason
// to fall back: whoever set it meant that library, not the cached one.
func FindLibrary() (string, error) {
	if p := os.Getenv("CHDB_LIB_PATH"); p != "" {
		candidates := []string{p, filepath.Join(p, "libchdb.so")}
		if c, ok := firstRegularFile(candidates); ok {
			return c, nil
		}
		return "", fmt.Errorf("%w: CHDB_LIB_PATH=%s is neither libchdb.so nor a directory holding it (looked at %v). "+
			"Point it at an existing libchdb.so, or unset it to use the one `scripts/install-chdb.sh` installs into %s",
			ErrLibraryNotFound, p, candidates, DefaultCacheDir())
	}
	candidates := []string{filepath.Join(DefaultCacheDir(), "libchdb.so")}
	if c, ok := firstRegularFile(candidates); ok {
		return c, nil
	}
	return "", fmt.Errorf("%w (looked in %v). Install it with `scripts/install-chdb.sh` "+
		"(it unpacks npm %s@%s into %s), or set CHDB_LIB_PATH to an existing libchdb.so, "+
		"or use --clickhouse with a ClickHouse server DSN", ErrLibraryNotFound, candidates,
		NPMPackage, LibraryVersion, DefaultCacheDir())
}

func firstRegularFile(paths []string) (string, bool) {
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, true
		}
	}
	return "", false
}

// load opens libchdb once per process. The engine installs handlers for
// fatal signals both while its static initialisers run and in chdb_connect,
// so both steps run between saveSignals and restore.
func load() (*lib, error) {
	loadOnce.Do(func() {
		path, err := FindLibrary()
		if err != nil {
			loadErr = err
			return
		}
		saved := saveSignals()
		defer saved.restore()
		h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			loadErr = fmt.Errorf("load %s: %w", path, err)
			return
		}
		l := &lib{path: path}
		syms := []struct {
			fn   any
			name string
		}{
			{&l.connect, "chdb_connect"},
			{&l.closeConn, "chdb_close_conn"},
			{&l.queryN, "chdb_query_n"},
			{&l.queryParamsN, "chdb_query_with_params_n"},
			{&l.resultBuffer, "chdb_result_buffer"},
			{&l.resultLength, "chdb_result_length"},
			{&l.resultError, "chdb_result_error"},
			{&l.resultRowsRead, "chdb_result_rows_read"},
			{&l.resultBytesRead, "chdb_result_bytes_read"},
			{&l.resultElapsed, "chdb_result_elapsed"},
			{&l.destroyResult, "chdb_destroy_query_result"},
			{&l.setSignalsEnabled, "chdb_set_signal_handlers_enabled"},
		}
		for _, s := range syms {
			sym, err := purego.Dlsym(h, s.name)
			if err != nil {
				loadErr = fmt.Errorf("%s: missing symbol %s (need libchdb %s): %w", path, s.name, LibraryVersion, err)
				return
			}
			purego.RegisterFunc(s.fn, sym)
		}
		l.setSignalsEnabled(0)
		loaded = l
	})
	return loaded, loadErr
}

// cString copies s into a NUL-terminated byte slice the C side may read.
func cString(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}

// goString copies a NUL-terminated C string.
func goString(p unsafe.Pointer) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(p), n))
}
