package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/labstack/echo/v4"

	"github.com/coldtrace/coldtrace/query/api"
)

// Waiting for a ClickHouse connection is told apart from a slow query.
func TestBusyConnectionsAreNotCalledASlowQuery(t *testing.T) {
	s := &Server{cfg: DefaultConfig()}
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/api/v1/services", nil), httptest.NewRecorder())
	for _, tc := range []struct {
		err    error
		status int
		code   string
		says   string
	}{
		{fmt.Errorf("services: %w", clickhouse.ErrAcquireConnTimeout), http.StatusServiceUnavailable, api.CodeUnavailable, "every ClickHouse connection is busy"},
		{fmt.Errorf("failed to query server hello: %w", context.DeadlineExceeded), http.StatusGatewayTimeout, api.CodeTimeout, "or no connection to it came free"},
	} {
		got := s.toAPIError(c, tc.err)
		if got.status != tc.status || got.body.Code != tc.code || !strings.Contains(got.body.Message, tc.says) {
			t.Errorf("%v: %d %+v", tc.err, got.status, got.body)
		}
	}
}
