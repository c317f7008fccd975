package models

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Query types: the queryType of a query.
const (
	QueryTrace      = "trace"
	QuerySearch     = "search"
	QueryMetrics    = "metrics"
	QueryFunctions  = "functions"
	QueryServiceMap = "serviceMap"
)

// QueryTypes are every query type, in the order editors show them.
var QueryTypes = []string{QuerySearch, QueryTrace, QueryMetrics, QueryFunctions, QueryServiceMap}

// Metrics of the metrics query: the function time series the API serves
// (GET /api/v1/functions/{name}/timeseries), in the API's order. The
// frontend's METRICS (src/types.ts) lists the same.
var Metrics = []string{
	"invocations", "coldstarts", "coldstart_rate",
	"init_p50", "init_p95", "init_p99",
	"duration_p50", "duration_p95", "duration_p99",
	"timeouts", "errors", "cost",
}

// Statuses a search can filter on.
var Statuses = []string{"error", "ok", "unset"}

// ErrorTypes of the span contract a search can filter on.
var ErrorTypes = []string{"timeout", "out_of_memory", "crash", "handler_error", "init_error", "throttled"}

// Search limits.
const (
	DefaultSearchLimit = 20
	MaxSearchLimit     = 1000
)

// AllFunctions in a metrics query's function selects every function;
// Grafana's "All" of a multi-value variable also arrives as an empty list.
const AllFunctions = "*"

// AdHocFilter is one filter of a dashboard's ad-hoc filters variable.
type AdHocFilter struct {
	Key      string `json:"key"`
	Operator string `json:"operator"`
	Value    string `json:"value"`
}

// Query is the JSON a panel, Explore or an alert rule sends per query.
type Query struct {
	QueryType string `json:"queryType"`

	// trace
	TraceID string `json:"traceId,omitempty"`

	// search
	Service     string            `json:"service,omitempty"`
	Operation   string            `json:"operation,omitempty"`
	MinDuration string            `json:"minDuration,omitempty"`
	MaxDuration string            `json:"maxDuration,omitempty"`
	Status      string            `json:"status,omitempty"`
	ColdStart   *bool             `json:"coldStart,omitempty"`
	ErrorType   string            `json:"errorType,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	Limit       int               `json:"limit,omitempty"`

	// metrics; Function is a comma-separated list, empty or "*" for all.
	Function string `json:"function,omitempty"`
	Version  string `json:"version,omitempty"`
	Metric   string `json:"metric,omitempty"`

	// AdHocFilters are the dashboard's ad-hoc filters, put here by the
	// frontend's applyTemplateVariables.
	AdHocFilters []AdHocFilter `json:"adhocFilters,omitempty"`
}

var traceIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{1,32}$`)

// ParseQuery decodes and validates a query's JSON. queryType is the
// DataQuery's own query type, used when the JSON has none (alert rules and
// provisioned dashboards may carry it only there).
func ParseQuery(raw json.RawMessage, queryType string) (Query, error) {
	var q Query
	if err := json.Unmarshal(raw, &q); err != nil {
		return q, fmt.Errorf("the query is malformed: %w", err)
	}
	if q.QueryType == "" {
		q.QueryType = queryType
	}
	q.TraceID = strings.TrimSpace(q.TraceID)
	return q, q.Validate()
}

// Validate says what is wrong with a query in words an editor user
// understands.
func (q Query) Validate() error {
	switch q.QueryType {
	case QueryTrace:
		if q.TraceID == "" {
			return fmt.Errorf("enter a trace ID")
		}
		if !traceIDPattern.MatchString(q.TraceID) {
			return fmt.Errorf("trace ID %q: use 1 to 32 hexadecimal digits", q.TraceID)
		}
	case QuerySearch:
		min, max, err := q.Durations()
		if err != nil {
			return err
		}
		if min > 0 && max > 0 && min > max {
			return fmt.Errorf("min duration %s is above max duration %s", min, max)
		}
		if q.Status != "" && !slices.Contains(Statuses, q.Status) {
			return fmt.Errorf("status %q: use one of %s", q.Status, strings.Join(Statuses, ", "))
		}
		if q.ErrorType != "" && !slices.Contains(ErrorTypes, q.ErrorType) {
			return fmt.Errorf("error type %q: use one of %s", q.ErrorType, strings.Join(ErrorTypes, ", "))
		}
		if q.Limit < 0 || q.Limit > MaxSearchLimit {
			return fmt.Errorf("limit %d: use 1 to %d", q.Limit, MaxSearchLimit)
		}
		for k := range q.Attributes {
			if strings.TrimSpace(k) == "" {
				return fmt.Errorf("an attribute filter has no key")
			}
		}
		if _, err := q.AttributeFilters(); err != nil {
			return err
		}
	case QueryMetrics:
		if q.Metric == "" {
			return fmt.Errorf("choose a metric")
		}
		if !slices.Contains(Metrics, q.Metric) {
			return fmt.Errorf("metric %q: use one of %s", q.Metric, strings.Join(Metrics, ", "))
		}
	case QueryFunctions, QueryServiceMap:
	case "":
		return fmt.Errorf("choose a query type (%s)", strings.Join(QueryTypes, ", "))
	default:
		return fmt.Errorf("unknown query type %q: use one of %s", q.QueryType, strings.Join(QueryTypes, ", "))
	}
	return nil
}

// Durations are the search's min and max duration, zero when unset.
func (q Query) Durations() (min, max time.Duration, err error) {
	if min, err = parseDuration("min duration", q.MinDuration); err != nil {
		return 0, 0, err
	}
	if max, err = parseDuration("max duration", q.MaxDuration); err != nil {
		return 0, 0, err
	}
	return min, max, nil
}

func parseDuration(what, s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s %q: use a duration such as 250ms, 1.5s or 2m", what, s)
	}
	return d, nil
}

// AttributeFilters merges the query's attributes with the dashboard's
// ad-hoc filters. Coldtrace matches attributes by equality only, so other
// operators are refused rather than silently ignored.
func (q Query) AttributeFilters() (map[string]string, error) {
	if len(q.Attributes) == 0 && len(q.AdHocFilters) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(q.Attributes)+len(q.AdHocFilters))
	for k, v := range q.Attributes {
		out[strings.TrimSpace(k)] = v
	}
	for _, f := range q.AdHocFilters {
		if f.Operator != "=" && f.Operator != "" {
			return nil, fmt.Errorf("ad-hoc filter %s %s %s: Coldtrace filters attributes by equality only (=)", f.Key, f.Operator, f.Value)
		}
		if strings.TrimSpace(f.Key) == "" {
			return nil, fmt.Errorf("an ad-hoc filter has no key")
		}
		out[strings.TrimSpace(f.Key)] = f.Value
	}
	return out, nil
}

// SearchLimit is the number of traces a search returns.
func (q Query) SearchLimit() int {
	if q.Limit == 0 {
		return DefaultSearchLimit
	}
	return q.Limit
}

// Functions are the functions a metrics query names; nil means all.
func (q Query) Functions() []string {
	var out []string
	for _, f := range strings.Split(q.Function, ",") {
		f = strings.TrimSpace(f)
		if f == AllFunctions || f == "$__all" {
			return nil
		}
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}
