package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/coldtrace/coldtrace/runtime/asyncq"
	"github.com/coldtrace/coldtrace/runtime/host"
	"github.com/coldtrace/coldtrace/runtime/pool"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// asyncInvoker runs queued events on the host.
type asyncInvoker struct {
	host *host.Host
	reg  *registry.Store
}

func (a asyncInvoker) Deployed(function, incarnation string) bool {
	return a.reg.Deployed(function, incarnation)
}

func (a asyncInvoker) InvokeAsync(ctx context.Context, j asyncq.Job) (asyncq.Outcome, error) {
	// Queued events are consumed (CONSUMER); schedules are the host's
	// own doing (INTERNAL).
	kind := trace.SpanKindConsumer
	if j.Trigger == telemetry.TriggerTimer {
		kind = trace.SpanKindInternal
	}
	h := http.Header{}
	for k, v := range j.TraceHeaders {
		h.Set(k, v)
	}
	resp, err := a.host.Invoke(ctx, host.Request{
		Function: j.Function, Incarnation: j.Incarnation, Payload: j.Payload, RequestID: j.ID, Trigger: j.Trigger, Kind: kind,
		Carrier: propagation.HeaderCarrier(h), ClientContext: j.ClientContext,
		Attributes: []attribute.KeyValue{attribute.Int("coldtrace.async.attempt", j.Attempts+1)},
		// A worker must not sit in a busy function's queue: the other
		// functions' events and the schedules wait behind it. As in
		// Lambda, an event that keeps finding the function at its limit
		// (callers waiting in its queue take each instance that frees)
		// is tried again, ever more rarely, until the maximum event age.
		Deferrable: true,
	})
	if errors.Is(err, registry.ErrNotFound) {
		return asyncq.Outcome{}, fmt.Errorf("%w: %w", asyncq.ErrGone, err)
	}
	if errors.Is(err, pool.ErrClosed) {
		// The host is stopping: not the event's fault, try again later.
		return asyncq.Outcome{ErrorType: telemetry.ErrThrottled, Message: err.Error()}, nil
	}
	if err != nil {
		return asyncq.Outcome{}, err
	}
	if resp.ErrorType == host.ErrDeferred {
		// Every instance busy: back in the queue, no attempt counted.
		return asyncq.Outcome{ErrorType: telemetry.ErrThrottled, Message: "every instance of " + j.Function + " is busy"}, nil
	}
	out := asyncq.Outcome{ErrorType: resp.ErrorType}
	if resp.Error != nil {
		out.Message = resp.Error.Error()
	}
	return out, nil
}

// scheduledEvent is the EventBridge "Scheduled Event" a timer sends.
type scheduledEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// fireSchedule queues a function's scheduled event; like EventBridge, a
// schedule invokes asynchronously, with retries.
func (s *Server) fireSchedule(function string, at time.Time) {
	fn, err := s.reg.Get(function)
	if err != nil {
		return // removed as its schedule fired
	}
	id := uuid.NewString()
	ev := scheduledEvent{
		Version: "0", ID: id, DetailType: "Scheduled Event", Source: "aws.events",
		Account: s.host.AccountID(), Time: at.Format(time.RFC3339), Region: s.host.Region(),
		Resources: []string{s.host.ARN(function) + ":schedule"}, Detail: json.RawMessage("{}"),
	}
	b, _ := json.Marshal(ev)
	err = s.queue.Enqueue(asyncq.Job{ID: id, Function: function, Incarnation: fn.Incarnation, Payload: b, Trigger: telemetry.TriggerTimer})
	if err != nil && !errors.Is(err, asyncq.ErrGone) { // ErrGone: removed as its schedule fired
		s.log.Error("queueing a scheduled event failed", "function", function, "err", err)
	}
}
