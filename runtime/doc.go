// Package runtime is Coldtrace's function host. It runs Lambda-style
// functions as real processes that speak the AWS Lambda Runtime API, and
// reports every invocation as OpenTelemetry spans over OTLP.
//
// The work is split by concern:
//
//	registry   functions, their configuration and code, persisted in the data dir
//	bundle     function code archives: build, zip, safe unzip
//	bootstrap  the Node.js and Python runtime clients embedded in the binary
//	runtimeapi the Lambda Runtime API (2018-06-01) served to one instance
//	limits     cgroup v1/v2 memory and pids limits, with a soft fallback
//	instance   one function process: spawn, invoke, timeout, logs, exit
//	pool       per-function capacity: warm reuse, FIFO wait, throttling, scale to zero
//	telemetry  the span contract of DESIGN.md, exported with the OTel Go SDK
//	host       an invocation from request to span, across the parts above
//	asyncq     the durable queue for Event invocations, retries and the DLQ
//	schedule   rate() and cron triggers
//	gateway    HTTP: the function trigger, the Lambda Invoke API, /api/v1/functions
//	client     a Go client of the gateway, used by the CLI
//	server     everything above assembled into one service
//
// Nothing here imports the collector, ingest or query: the runtime speaks
// OTLP over the network and can report to any OTLP backend.
package runtime
