package server_test

import (
	"testing"

	"github.com/coldtrace/coldtrace/internal/chtest"
	"github.com/coldtrace/coldtrace/internal/testmain"
)

func TestMain(m *testing.M) { testmain.Run(m, chtest.RemoveDataDir) }
