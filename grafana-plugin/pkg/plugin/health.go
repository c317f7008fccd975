package plugin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// CheckHealth is the data source page's "Save & test": it calls the API's
// status endpoint and reports Coldtrace's version and stored span count.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.settingsErr != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: "Data source settings: " + d.settingsErr.Error()}, nil
	}
	st, err := d.api.Status(ctx)
	if err != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: err.Error()}, nil
	}
	details, _ := json.Marshal(st)
	if !st.ClickHouse.Reachable {
		return &backend.CheckHealthResult{
			Status:      backend.HealthStatusError,
			Message:     fmt.Sprintf("Coldtrace %s at %s answers, but its ClickHouse storage is unreachable: %s", st.Version, d.api.URL(), st.ClickHouse.Error),
			JSONDetails: details,
		}, nil
	}
	storage := "ClickHouse server"
	if st.ClickHouse.Embedded {
		storage = "embedded ClickHouse"
	}
	if st.ClickHouse.Version != "" {
		storage += " " + st.ClickHouse.Version
	}
	tenant := ""
	if st.Tenant != "" {
		tenant = fmt.Sprintf(" for tenant %q", st.Tenant)
	}
	return &backend.CheckHealthResult{
		Status:      backend.HealthStatusOk,
		Message:     fmt.Sprintf("Coldtrace %s is working: %d spans stored%s (%s)", st.Version, st.SpanCount, tenant, storage),
		JSONDetails: details,
	}, nil
}
