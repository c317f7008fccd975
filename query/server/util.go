package server

import (
	"fmt"
	"sort"

	"github.com/coldtrace/coldtrace/query/reader"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func sortFilters(f []reader.AttributeFilter) {
	sort.Slice(f, func(i, j int) bool { return f[i].Scope+f[i].Key < f[j].Scope+f[j].Key })
}
