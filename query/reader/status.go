package reader

import (
	"context"
	"fmt"
)

// StorageStatus is what storage says about itself.
type StorageStatus struct {
	Version   string
	SpanCount uint64
}

// Status asks ClickHouse for its version and the tenant's span count.
func (r *Reader) Status(ctx context.Context) (StorageStatus, error) {
	var s StorageStatus
	rows, err := r.query(ctx, "status", `SELECT version(), (SELECT count() FROM `+r.spans+` WHERE TenantId = @tenant)`)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&s.Version, &s.SpanCount); err != nil {
			return s, fmt.Errorf("status: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("status: %w", err)
	}
	return s, nil
}
