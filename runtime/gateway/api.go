package gateway

import (
	"time"

	"github.com/coldtrace/coldtrace/runtime/asyncq"
	"github.com/coldtrace/coldtrace/runtime/pool"
	"github.com/coldtrace/coldtrace/runtime/registry"
)

// Paths of the gateway.
const (
	FunctionsPath = "/api/v1/functions"
	InvokePath    = "/2015-03-31/functions/"
	TriggerPath   = "/fn/"
)

// FunctionInfo is a function as the management API shows it.
type FunctionInfo struct {
	registry.Function
	ARN string `json:"arn"`
	// URL is the function's HTTP trigger.
	URL          string     `json:"url"`
	Instances    pool.Stats `json:"instances"`
	NextSchedule *time.Time `json:"nextSchedule,omitempty"`
	// PendingEvents are async events queued or waiting for a retry.
	PendingEvents int `json:"pendingEvents"`
	DeadLetters   int `json:"deadLetters"`
}

// FunctionList is the answer of GET /api/v1/functions.
type FunctionList struct {
	Functions []FunctionInfo `json:"functions"`
}

// DeadLetterList is the answer of GET /api/v1/functions/{name}/dlq.
type DeadLetterList struct {
	DeadLetters []asyncq.DeadLetter `json:"deadLetters"`
}

// Count answers purge and redrive.
type Count struct {
	Count int `json:"count"`
}

// Error is the management API's error body.
type Error struct {
	Error string `json:"error"`
}

// Deploy form fields of PUT /api/v1/functions/{name} (multipart).
const (
	DeployConfigField = "config" // registry.Config as JSON
	DeployCodeField   = "code"   // the code as a zip archive
)
