package chdb

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestScratch(t *testing.T) {
	q := os.Getenv("SCRATCH_SQL")
	if q == "" {
		t.Skip()
	}
	for _, s := range strings.Split(q, ";;") {
		out, err := testEngine.Query(context.Background(), s, "PrettyCompactMonoBlock")
		if err != nil {
			t.Logf("ERR %v", err)
			continue
		}
		t.Logf("\n%s", out)
	}
}
