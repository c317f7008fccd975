package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/coldtrace"
)

// defaultResourceWindow is how far back the editors' dropdowns look when
// the caller gives no time range.
const defaultResourceWindow = 24 * time.Hour

// maxAttributeValues bounds the values one dropdown lists.
const maxAttributeValues = 100

// Option is one entry of an editor dropdown (Grafana's SelectableValue).
type Option struct {
	Label       string `json:"label"`
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
}

// CallResource serves the editors' dropdowns; see newResourceMux.
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	if d.settingsErr != nil {
		body, _ := json.Marshal(resourceError{Message: "data source settings: " + d.settingsErr.Error()})
		return sender.Send(&backend.CallResourceResponse{Status: http.StatusBadRequest, Body: body, Headers: map[string][]string{"Content-Type": {"application/json"}}})
	}
	return d.resources.CallResource(ctx, req, sender)
}

type resourceError struct {
	Message string `json:"message"`
}

// newResourceMux routes the resource calls. Each takes optional from and
// to (unix milliseconds, the panel's range) and answers a JSON array of
// Options:
//
//	GET services
//	GET operations?service=
//	GET functions
//	GET attributes[?service=]
//	GET attribute-values?key=[&service=]
func newResourceMux(api *coldtrace.Client) *http.ServeMux {
	mux := http.NewServeMux()
	handle := func(pattern string, list func(r *http.Request, w coldtrace.Window) ([]Option, error)) {
		mux.HandleFunc("GET "+pattern, func(rw http.ResponseWriter, r *http.Request) {
			w, err := resourceWindow(r)
			if err == nil {
				var opts []Option
				if opts, err = list(r, w); err == nil {
					writeJSON(rw, http.StatusOK, opts)
					return
				}
			}
			status := http.StatusBadGateway
			var pe paramError
			var ae *coldtrace.Error
			if errors.As(err, &pe) || (errors.As(err, &ae) && ae.HTTPStatus >= 400 && ae.HTTPStatus < 500) {
				status = http.StatusBadRequest
			}
			writeJSON(rw, status, resourceError{Message: err.Error()})
		})
	}
	handle("/services", func(r *http.Request, w coldtrace.Window) ([]Option, error) {
		s, err := api.Services(r.Context(), w)
		if err != nil {
			return nil, err
		}
		opts := make([]Option, 0, len(s.Services))
		for _, svc := range s.Services {
			desc := fmt.Sprintf("%d spans", svc.SpanCount)
			if svc.Function {
				desc = "function · " + desc
			}
			opts = append(opts, Option{Label: svc.Name, Value: svc.Name, Description: desc})
		}
		return opts, nil
	})
	handle("/operations", func(r *http.Request, w coldtrace.Window) ([]Option, error) {
		service, err := requiredParam(r, "service")
		if err != nil {
			return nil, err
		}
		o, err := api.Operations(r.Context(), service, w)
		if err != nil {
			return nil, err
		}
		// The API lists a name once per span kind; a dropdown wants it once.
		opts := []Option{}
		for _, op := range o.Operations {
			opts = addOption(opts, op.Name, op.Kind)
		}
		return opts, nil
	})
	handle("/functions", func(r *http.Request, w coldtrace.Window) ([]Option, error) {
		fs, err := api.Functions(r.Context(), w)
		if err != nil {
			return nil, err
		}
		// One entry per function, listing its versions.
		opts := []Option{}
		for _, f := range fs.Functions {
			opts = addOption(opts, f.Name, f.Version)
		}
		slices.SortFunc(opts, func(a, b Option) int { return strings.Compare(a.Value, b.Value) })
		return opts, nil
	})
	handle("/attributes", func(r *http.Request, w coldtrace.Window) ([]Option, error) {
		a, err := api.Attributes(r.Context(), r.URL.Query().Get("service"), w)
		if err != nil {
			return nil, err
		}
		opts := make([]Option, 0, len(a.Attributes))
		for _, k := range a.Attributes {
			// Resource attributes are filtered as resource.KEY (as the API
			// does), so a key on both spans and resources is two filters.
			key := k.Key
			if k.Scope == coldtrace.ScopeResource {
				key = coldtrace.ResourceKeyPrefix + key
			}
			if slices.ContainsFunc(opts, func(o Option) bool { return o.Value == key }) {
				continue
			}
			opts = append(opts, Option{Label: key, Value: key, Description: fmt.Sprintf("%s %s", k.Scope, k.Type)})
		}
		return opts, nil
	})
	handle("/attribute-values", func(r *http.Request, w coldtrace.Window) ([]Option, error) {
		key, err := requiredParam(r, "key")
		if err != nil {
			return nil, err
		}
		v, err := api.AttributeValues(r.Context(), key, r.URL.Query().Get("service"), maxAttributeValues, w)
		if err != nil {
			return nil, err
		}
		opts := make([]Option, 0, len(v.Values))
		for _, val := range v.Values {
			opts = append(opts, Option{Label: val.Value, Value: val.Value, Description: fmt.Sprintf("%d spans", val.Count)})
		}
		return opts, nil
	})
	mux.HandleFunc("/", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, http.StatusNotFound, resourceError{Message: fmt.Sprintf("no resource %s %s", r.Method, r.URL.Path)})
	})
	return mux
}

// addOption adds value to opts, or, when it is there already, adds detail
// to its description.
func addOption(opts []Option, value, detail string) []Option {
	if i := slices.IndexFunc(opts, func(o Option) bool { return o.Value == value }); i >= 0 {
		opts[i].Description += ", " + detail
		return opts
	}
	return append(opts, Option{Label: value, Value: value, Description: detail})
}

// paramError is a resource call's bad parameter.
type paramError struct{ msg string }

func (e paramError) Error() string { return e.msg }

func requiredParam(r *http.Request, name string) (string, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return "", paramError{fmt.Sprintf("parameter %s is required", name)}
	}
	return v, nil
}

func resourceWindow(r *http.Request) (coldtrace.Window, error) {
	q := r.URL.Query()
	to := time.Now()
	w := coldtrace.Window{}
	if s := q.Get("to"); s != "" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return w, paramError{fmt.Sprintf("parameter to %q: use unix milliseconds", s)}
		}
		to = time.UnixMilli(ms)
	}
	from := to.Add(-defaultResourceWindow)
	if s := q.Get("from"); s != "" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return w, paramError{fmt.Sprintf("parameter from %q: use unix milliseconds", s)}
		}
		from = time.UnixMilli(ms)
	}
	if !from.Before(to) {
		return w, paramError{"parameter from must be before to"}
	}
	return coldtrace.Window{From: from, To: to}, nil
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}
