// Package tenant carries the tenant of a request through its context.
package tenant

import (
	"context"
	"fmt"
	"strings"
)

type key struct{}

// Header is the HTTP header (and gRPC metadata key, lower-cased) that names
// the tenant, as in Grafana Tempo.
const Header = "X-Scope-OrgID"

// MaxLength bounds a tenant id.
const MaxLength = 128

// Validate reports a tenant id that could be stored but never read back:
// reads name the tenant in an HTTP header, which may hold at most
// MaxLength printable characters and loses leading and trailing spaces.
// Every place a tenant enters (ingest, queries, the tokens file) checks it.
func Validate(id string) error {
	if len(id) > MaxLength {
		return fmt.Errorf("tenant %.20q…: longer than %d bytes", id, MaxLength)
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("tenant %q: control characters are not allowed", id)
		}
	}
	if strings.TrimSpace(id) != id {
		return fmt.Errorf("tenant %q: leading or trailing spaces are not allowed", id)
	}
	return nil
}

// NewContext returns ctx carrying tenant id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// FromContext returns the tenant in ctx, or "" (the default tenant).
func FromContext(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}
