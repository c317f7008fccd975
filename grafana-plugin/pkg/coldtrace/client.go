// Package coldtrace is the plugin's client of Coldtrace's REST API
// (/api/v1). It is the only place that knows endpoint paths, parameter
// names and the error shape.
package coldtrace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxResponseBytes bounds what one API response may occupy in memory; a
// trace of a few hundred thousand spans stays below it.
const maxResponseBytes = 256 << 20

// TenantHeader carries the tenant id to Coldtrace.
const TenantHeader = "X-Scope-OrgID"

// Config says where Coldtrace is and how to call it.
type Config struct {
	// URL is Coldtrace's base URL (scheme, host, optional path prefix),
	// without /api/v1.
	URL string
	// Token, when set, is sent as "Authorization: Bearer <token>" for a
	// proxy or gateway in front of Coldtrace.
	Token string
	// Tenant, when set, is sent in the X-Scope-OrgID header.
	Tenant string
}

// Validate reports a URL Coldtrace cannot be reached at.
func (c Config) Validate() error {
	if strings.TrimSpace(c.URL) == "" {
		return errors.New("the Coldtrace URL is not set")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("the Coldtrace URL %q is not a URL: %w", c.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("the Coldtrace URL %q must start with http:// or https://", c.URL)
	}
	if u.Host == "" {
		return fmt.Errorf("the Coldtrace URL %q has no host", c.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("the Coldtrace URL %q must not have a query or fragment", c.URL)
	}
	return nil
}

// Client calls one Coldtrace.
type Client struct {
	base   *url.URL
	cfg    Config
	http   *http.Client
	apiURL string
}

// New returns a client for cfg that sends its requests with hc.
func New(cfg Config, hc *http.Client) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// People paste the API's own address; the base is what is below it.
	base, _ := url.Parse(strings.TrimSuffix(strings.TrimRight(cfg.URL, "/"), "/api/v1"))
	return &Client{base: base, cfg: cfg, http: hc, apiURL: base.String() + "/api/v1"}, nil
}

// URL is the base URL the client calls.
func (c *Client) URL() string { return c.base.String() }

// Error is a failed API call.
type Error struct {
	// HTTPStatus is the response's status code, 0 when none came.
	HTTPStatus int
	// Code is the API's error code (bad_parameter, not_found, timeout, …).
	Code      string
	Message   string
	Parameter string
	// Endpoint is the path that was called.
	Endpoint string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Coldtrace API %s", e.Endpoint)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " answered %d", e.HTTPStatus)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	b.WriteString(": ")
	// The API's messages usually start with the parameter's name already.
	if e.Parameter != "" && !strings.HasPrefix(e.Message, e.Parameter+":") {
		fmt.Fprintf(&b, "parameter %s: ", e.Parameter)
	}
	b.WriteString(e.Message)
	if e.HTTPStatus == http.StatusUnauthorized || e.HTTPStatus == http.StatusForbidden {
		b.WriteString(" (check the API token in the data source settings)")
	}
	return b.String()
}

// IsNotFound reports whether err is the API's not_found.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Code == "not_found" || (e.Code == "" && e.HTTPStatus == http.StatusNotFound))
}

// Window is a time range; a zero bound is left to the API's default.
type Window struct {
	From, To time.Time
}

func (w Window) set(q url.Values) {
	if !w.From.IsZero() {
		q.Set("start", strconv.FormatInt(w.From.UnixNano(), 10))
	}
	if !w.To.IsZero() {
		q.Set("end", strconv.FormatInt(w.To.UnixNano(), 10))
	}
}

// Status reads version, storage reachability and span count. A degraded
// Coldtrace (storage unreachable) answers 503 with the same body, which is
// returned without an error so the caller can show why.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.get(ctx, "/status", nil, &s, http.StatusServiceUnavailable)
	return s, err
}

// Trace reads every span of a trace.
func (c *Client) Trace(ctx context.Context, traceID string) (Trace, error) {
	var t Trace
	err := c.get(ctx, "/traces/"+url.PathEscape(traceID), nil, &t)
	return t, err
}

// SearchParams filter a trace search; zero values do not filter.
type SearchParams struct {
	Window      Window
	Service     string
	Operation   string
	MinDuration time.Duration
	MaxDuration time.Duration
	// Status is error, ok or unset.
	Status    string
	ColdStart *bool
	ErrorType string
	// Attributes must all match: span attributes, or resource attributes
	// for keys written resource.KEY (see FilterKey).
	Attributes map[string]string
	Limit      int
}

// SearchTraces returns one page of trace summaries, newest first.
func (c *Client) SearchTraces(ctx context.Context, p SearchParams) (TraceSearch, error) {
	q := url.Values{}
	setIf(q, "service", p.Service)
	setIf(q, "operation", p.Operation)
	if p.MinDuration > 0 {
		q.Set("minDuration", strconv.FormatInt(p.MinDuration.Nanoseconds(), 10))
	}
	if p.MaxDuration > 0 {
		q.Set("maxDuration", strconv.FormatInt(p.MaxDuration.Nanoseconds(), 10))
	}
	setIf(q, "status", p.Status)
	if p.ColdStart != nil {
		q.Set("coldStart", strconv.FormatBool(*p.ColdStart))
	}
	setIf(q, "errorType", p.ErrorType)
	for k, v := range p.Attributes {
		if key, scope := FilterKey(k); scope == ScopeResource {
			q.Set("resource."+key, v)
		} else {
			q.Set("attr."+key, v)
		}
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	return getWindow[TraceSearch](ctx, c, "/traces", p.Window, q)
}

// Services lists the services seen in w.
func (c *Client) Services(ctx context.Context, w Window) (Services, error) {
	return getWindow[Services](ctx, c, "/services", w, nil)
}

// Operations lists the span names of service seen in w.
func (c *Client) Operations(ctx context.Context, service string, w Window) (Operations, error) {
	return getWindow[Operations](ctx, c, "/services/"+url.PathEscape(service)+"/operations", w, nil)
}

// Functions summarises every function version invoked in w.
func (c *Client) Functions(ctx context.Context, w Window) (Functions, error) {
	return getWindow[Functions](ctx, c, "/functions", w, nil)
}

// TimeseriesParams select one metric of one function.
type TimeseriesParams struct {
	Window   Window
	Function string
	// Version, when set, restricts to one function version.
	Version string
	Metric  string
	// Step is a whole number of minutes; zero lets the API choose.
	Step time.Duration
}

// Timeseries reads one metric of a function per step.
func (c *Client) Timeseries(ctx context.Context, p TimeseriesParams) (Timeseries, error) {
	q := url.Values{"metric": {p.Metric}}
	setIf(q, "version", p.Version)
	if p.Step > 0 {
		q.Set("step", fmt.Sprintf("%dm", int64(p.Step/time.Minute)))
	}
	return getWindow[Timeseries](ctx, c, "/functions/"+url.PathEscape(p.Function)+"/timeseries", p.Window, q)
}

// Dependencies reads the service call graph of w.
func (c *Client) Dependencies(ctx context.Context, w Window) (Dependencies, error) {
	return getWindow[Dependencies](ctx, c, "/dependencies", w, nil)
}

// Attributes lists the attribute keys seen in w, of service if set.
func (c *Client) Attributes(ctx context.Context, service string, w Window) (Attributes, error) {
	q := url.Values{}
	setIf(q, "service", service)
	return getWindow[Attributes](ctx, c, "/attributes", w, q)
}

// Attribute scopes of the API.
const (
	ScopeSpan     = "span"
	ScopeResource = "resource"
)

// ResourceKeyPrefix marks an attribute filter key as a resource attribute
// ("resource.faas.instance"), as the API's resource.KEY parameters do;
// other keys are span attributes.
const ResourceKeyPrefix = "resource."

// FilterKey splits an attribute filter key into the attribute key and its
// scope.
func FilterKey(k string) (key, scope string) {
	if rest, ok := strings.CutPrefix(k, ResourceKeyPrefix); ok && rest != "" {
		return rest, ScopeResource
	}
	return k, ScopeSpan
}

// AttributeValues lists the most frequent values of key in w: of span and
// resource attributes, or of resource attributes only for a key written
// resource.KEY.
func (c *Client) AttributeValues(ctx context.Context, key, service string, limit int, w Window) (AttributeValues, error) {
	q := url.Values{}
	setIf(q, "service", service)
	if k, scope := FilterKey(key); scope == ScopeResource {
		key = k
		q.Set("scope", scope)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return getWindow[AttributeValues](ctx, c, "/attributes/"+url.PathEscape(key)+"/values", w, q)
}

// getWindow decodes GET path over the window w, with the parameters q.
func getWindow[T any](ctx context.Context, c *Client, path string, w Window, q url.Values) (T, error) {
	var out T
	if q == nil {
		q = url.Values{}
	}
	w.set(q)
	err := c.get(ctx, path, q, &out)
	return out, err
}

func setIf(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

// get calls GET /api/v1<path>?q and decodes a 200 (or an alsoOK status)
// body into out; any other status becomes an *Error.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any, alsoOK ...int) error {
	u := c.apiURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return &Error{Endpoint: path, Message: err.Error()}
	}
	req.Header.Set("Accept", "application/json")
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	if c.cfg.Tenant != "" {
		req.Header.Set(TenantHeader, c.cfg.Tenant)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return &Error{Endpoint: path, Message: fmt.Sprintf("request cancelled: %v", ctx.Err())}
		}
		return &Error{Endpoint: path, Message: fmt.Sprintf("cannot reach Coldtrace at %s: %v", c.base, unwrapURLError(err))}
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxResponseBytes+1)
	ok := resp.StatusCode == http.StatusOK
	for _, s := range alsoOK {
		ok = ok || resp.StatusCode == s
	}
	if !ok {
		return decodeError(path, resp.StatusCode, body)
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return &Error{Endpoint: path, HTTPStatus: resp.StatusCode, Message: fmt.Sprintf("reading the response: %v", err)}
	}
	if len(raw) > maxResponseBytes {
		return &Error{Endpoint: path, HTTPStatus: resp.StatusCode, Code: "too_large", Message: fmt.Sprintf("the response is larger than %d MiB; narrow the query", maxResponseBytes>>20)}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &Error{Endpoint: path, HTTPStatus: resp.StatusCode, Message: fmt.Sprintf("the response is not the JSON the plugin expects (is the URL a Coldtrace?): %v", err)}
	}
	return nil
}

func decodeError(path string, status int, body io.Reader) error {
	raw, _ := io.ReadAll(io.LimitReader(body, 64<<10))
	var er ErrorResponse
	if err := json.Unmarshal(raw, &er); err == nil && er.Error.Message != "" {
		return &Error{Endpoint: path, HTTPStatus: status, Code: er.Error.Code, Message: er.Error.Message, Parameter: er.Error.Parameter}
	}
	// Not the API's error shape: a proxy, or not a Coldtrace at all.
	text := strings.Join(strings.Fields(string(raw)), " ")
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	if text == "" {
		text = http.StatusText(status)
	}
	return &Error{Endpoint: path, HTTPStatus: status, Message: text}
}

// unwrapURLError drops *url.Error's "Get <url>:" prefix, which repeats
// what the caller already says.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
