package main

import (
	"fmt"
	"math"
	"strconv"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"
)

// byteSize is an int64 flag of bytes that takes units, such as 4GiB,
// 512MiB or 64KB (SI units are powers of 1000, IEC units of 1024), or a
// plain number of bytes.
type byteSize struct{ n *int64 }

// byteSizeVar defines a byte-size flag.
func byteSizeVar(fs *pflag.FlagSet, p *int64, name string, value int64, usage string) {
	*p = value
	fs.Var(byteSize{p}, name, usage+" (bytes, or with a unit: 64KiB, 512MiB, 4GiB)")
}

func (b byteSize) Set(s string) error {
	n, err := humanize.ParseBytes(s)
	if err != nil {
		return fmt.Errorf("%q is not a size: give bytes, such as 1048576, or a number with a unit, such as 64KiB, 512MiB, 4GiB or 10GB", s)
	}
	if n > math.MaxInt64 {
		return fmt.Errorf("%q is too large", s)
	}
	*b.n = int64(n)
	return nil
}

func (b byteSize) Type() string { return "bytes" }

// String is exact, so that config print's output reads back as the same
// value: the first unit that divides the size, MiB and up before the SI
// units, which come before KiB (64MB rather than 62500KiB).
func (b byteSize) String() string {
	if b.n == nil {
		return "0"
	}
	n := *b.n
	for _, u := range []struct {
		name string
		size int64
	}{
		{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20},
		{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KiB", 1 << 10}, {"kB", 1e3},
	} {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}
