// Package tenant carries the tenant of a request through its context.
package tenant

import "context"

type key struct{}

// Header is the HTTP header (and gRPC metadata key, lower-cased) that names
// the tenant, as in Grafana Tempo.
const Header = "X-Scope-OrgID"

// NewContext returns ctx carrying tenant id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// FromContext returns the tenant in ctx, or "" (the default tenant).
func FromContext(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}
