package server_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/runtime/asyncq"
	"github.com/coldtrace/coldtrace/runtime/gateway"
	"github.com/coldtrace/coldtrace/runtime/host"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/server"
	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// awsClient is the AWS SDK for Go v2's Lambda client pointed at the
// gateway. Credentials are required by the SDK and ignored by Coldtrace.
func (e *env) awsClient() *lambda.Client {
	return lambda.New(lambda.Options{
		Region:           "local",
		BaseEndpoint:     aws.String(e.srv.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider("coldtrace", "coldtrace", ""),
		RetryMaxAttempts: 1,
	})
}

func TestAWSSDKLambdaClient(t *testing.T) {
	e := newEnv(t)
	cfg := goConfig("sdk")
	cfg.MaxInstances = 1
	cfg.QueueWait = registry.Duration(100 * time.Millisecond)
	e.deploy(cfg, goFunction(t))
	lc := e.awsClient()
	ctx := context.Background()

	out, err := lc.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String("sdk"), Payload: []byte(`{"value":"from the sdk"}`),
		LogType: types.LogTypeTail, ClientContext: aws.String(base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"}}`))),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 200 || out.FunctionError != nil || decode[goResult](t, out.Payload).Value != "from the sdk" || aws.ToString(out.ExecutedVersion) != "1" {
		t.Fatalf("invoke: %d %v %s", out.StatusCode, out.FunctionError, out.Payload)
	}
	tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if !strings.Contains(string(tail), "START RequestId: ") || !strings.Contains(string(tail), "REPORT RequestId: ") {
		t.Fatalf("log tail %q", tail)
	}

	// By ARN, with a function error.
	out, err = lc.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String("arn:aws:lambda:local:000000000000:function:sdk"), Payload: []byte(`{"op":"fail"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	var fe struct{ ErrorMessage, ErrorType string }
	json.Unmarshal(out.Payload, &fe)
	if aws.ToString(out.FunctionError) != "Unhandled" || fe.ErrorMessage != "failed on purpose" {
		t.Fatalf("function error: %v %s", out.FunctionError, out.Payload)
	}

	_, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("missing")})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("missing function: %T %v", err, err)
	}
	_, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("sdk"), Payload: []byte("not json")})
	var badContent *types.InvalidRequestContentException
	if !errors.As(err, &badContent) {
		t.Fatalf("bad payload: %T %v", err, err)
	}

	// One instance busy for a second, a wait bound of 100 ms: throttled.
	busy := make(chan error, 1)
	go func() {
		_, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("sdk"), Payload: []byte(`{"op":"sleep","ms":1500}`)})
		busy <- err
	}()
	waitFor(t, "the slow invocation to start", func() bool {
		st, _ := e.srv.Host().Stats("sdk")
		return st.Idle == 0
	})
	_, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("sdk"), Payload: []byte(`{}`)})
	var throttled *types.TooManyRequestsException
	if !errors.As(err, &throttled) {
		t.Fatalf("throttling: %T %v", err, err)
	}
	// As Lambda says why: the function's own limit (reserved concurrency).
	if throttled.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded || throttled.Type == nil || *throttled.Type != "User" {
		t.Errorf("throttling reason %q, type %v", throttled.Reason, throttled.Type)
	}
	// The throttle has a span, and the answer names its trace.
	raw, err := http.Post(e.srv.URL()+"/2015-03-31/functions/sdk/invocations", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	raw.Body.Close()
	if raw.StatusCode != http.StatusTooManyRequests || len(raw.Header.Get(gateway.HeaderTraceID)) != 32 {
		t.Errorf("throttled over HTTP: %d, trace id %q", raw.StatusCode, raw.Header.Get(gateway.HeaderTraceID))
	}
	if err := <-busy; err != nil {
		t.Fatal(err)
	}

	// Two qualifiers that disagree are refused, as Lambda does.
	_, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("sdk:1"), Qualifier: aws.String("$LATEST"), Payload: []byte(`{}`)})
	var badQualifier *types.InvalidParameterValueException
	if !errors.As(err, &badQualifier) {
		t.Errorf("conflicting qualifiers: %T %v", err, err)
	}

	// Event: accepted once queued, run asynchronously as a CONSUMER span.
	ev, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("sdk"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"value":"async"}`)})
	if err != nil || ev.StatusCode != 202 {
		t.Fatalf("event: %v %+v", err, ev)
	}
	async := e.spans(1, schema.ColFunctionName+" = 'sdk' AND "+schema.ColFaasTrigger+" = ?", telemetry.TriggerPubSub)[0]
	if async.Kind != "Consumer" || async.ErrorType != "" {
		t.Fatalf("async span %+v", async)
	}
	if dr, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("sdk"), InvocationType: types.InvocationTypeDryRun}); err != nil || dr.StatusCode != 204 {
		t.Fatalf("dry run: %v", err)
	}
}

// Failing async events are retried twice, then dead-lettered; a redrive
// queues them again.
func TestAsyncRetriesAndDeadLetters(t *testing.T) {
	e := newEnv(t)
	e.deploy(goConfig("flaky"), goFunction(t))
	ctx := context.Background()
	id, err := e.c.InvokeAsync(ctx, "flaky", []byte(`{"op":"fail"}`))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event to be dead-lettered", func() bool {
		dl, err := e.c.DeadLetters(ctx, "flaky")
		return err == nil && len(dl) == 1
	})
	dl, _ := e.c.DeadLetters(ctx, "flaky")
	if dl[0].ID != id || dl[0].Attempts != 3 || dl[0].LastErrorType != telemetry.ErrHandler || !strings.Contains(dl[0].LastError, "failed on purpose") {
		t.Fatalf("dead letter %+v", dl[0])
	}
	attempts := e.spans(3, schema.ColFunctionName+" = 'flaky' AND SpanAttributes['faas.invocation_id'] = ?", id)
	for i, s := range attempts {
		if s.Kind != "Consumer" || s.ErrorType != telemetry.ErrHandler || s.Attrs["coldtrace.async.attempt"] != string(rune('1'+i)) {
			t.Fatalf("attempt %d: %+v", i+1, s)
		}
	}
	if n, err := e.c.RedriveDeadLetters(ctx, "flaky"); err != nil || n != 1 {
		t.Fatalf("redrive: %d %v", n, err)
	}
	e.spans(6, schema.ColFunctionName+" = 'flaky' AND SpanAttributes['faas.invocation_id'] = ?", id)
	waitFor(t, "the redriven event to be dead-lettered again", func() bool {
		dl, err := e.c.DeadLetters(ctx, "flaky")
		return err == nil && len(dl) == 1
	})
	if n, err := e.c.PurgeDeadLetters(ctx, "flaky"); err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
	// Removing the function drops its dead letters and its queued events:
	// none reaches a later function of the same name.
	if _, err := e.c.InvokeAsync(ctx, "flaky", []byte(`{"op":"fail"}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a dead letter", func() bool {
		dl, err := e.c.DeadLetters(ctx, "flaky")
		return err == nil && len(dl) == 1
	})
	if _, err := e.c.InvokeAsync(ctx, "flaky", []byte(`{"op":"fail"}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Delete(ctx, "flaky"); err != nil {
		t.Fatal(err)
	}
	e.deploy(goConfig("flaky"), goFunction(t))
	time.Sleep(500 * time.Millisecond) // longer than the test queue's retries
	if dl, err := e.c.DeadLetters(ctx, "flaky"); err != nil || len(dl) != 0 {
		t.Fatalf("dead letters after the function was removed and deployed again: %+v %v", dl, err)
	}
	if n := e.srv.Queue().Pending("flaky"); n != 0 {
		t.Fatalf("%d events of the removed function still queued", n)
	}
}

// Events accepted but not yet run survive a restart of the runtime.
func TestAsyncQueueSurvivesARestart(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Queue.Workers = 1 })
	cfg := goConfig("durable")
	cfg.MaxInstances = 1
	e.deploy(cfg, goFunction(t))
	ctx := context.Background()
	const n = 12
	for i := 0; i < n; i++ {
		if _, err := e.c.InvokeAsync(ctx, "durable", []byte(`{"op":"sleep","ms":100}`)); err != nil {
			t.Fatal(err)
		}
	}
	e.invocations("durable", 1)
	e.stop()
	left := queuePending(t, e)
	if left == 0 || left == n {
		t.Fatalf("%d of %d events left after the stop; the test needs some run and some not", left, n)
	}
	e.start()
	spans := e.invocations("durable", n)
	if len(spans) < n {
		t.Fatalf("%d events ran, want %d", len(spans), n)
	}
}

// A function's async backlog, at its concurrency limit, does not hold the
// queue's workers: another function's event runs at once, and the
// backlog's events wait in the queue without throttled invocation spans.
func TestAsyncBacklogDoesNotHoldOtherFunctions(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Queue.Workers = 2 })
	busy := goConfig("busy")
	busy.MaxInstances, busy.QueueWait = 1, registry.Duration(3*time.Second)
	e.deploy(busy, goFunction(t))
	e.deploy(goConfig("quick"), goFunction(t))
	ctx := context.Background()
	const backlog = 4
	for range backlog {
		if _, err := e.c.InvokeAsync(ctx, "busy", []byte(`{"op":"sleep","ms":1500}`)); err != nil {
			t.Fatal(err)
		}
	}
	e.invocations("busy", 1) // the backlog is under way
	sent := time.Now()
	if _, err := e.c.InvokeAsync(ctx, "quick", []byte(`{"value":"x"}`)); err != nil {
		t.Fatal(err)
	}
	e.invocations("quick", 1)
	var started time.Time
	if err := e.stack.Client.QueryRow(ctx, "SELECT min(Timestamp) FROM "+e.stack.Table(schema.TracesTable)+
		" WHERE FunctionName = 'quick' AND IsInvocation").Scan(&started); err != nil {
		t.Fatal(err)
	}
	// Before, both workers sat in busy's queue (up to queueWait, 3 s).
	if waited := started.Sub(sent); waited > time.Second {
		t.Errorf("quick's event started %v after it was sent, behind busy's backlog", waited)
	}
	spans := e.invocations("busy", backlog)
	for _, s := range spans {
		if s.ErrorType != "" {
			t.Errorf("busy's backlog: an invocation span with error.type %q", s.ErrorType)
		}
	}
}

// A stop whose budget runs out kills the async attempt under way: that is
// not the function's failure, so the event stays queued for the next start
// without an attempt counted, and the span of the killed attempt is still
// exported.
func TestStopLeavesAKilledEventQueued(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Queue.MaxRetries = 0 })
	cfg := goConfig("long")
	cfg.Timeout = registry.Duration(time.Minute)
	e.deploy(cfg, goFunction(t))
	ctx := context.Background()
	id, err := e.c.InvokeAsync(ctx, "long", []byte(`{"op":"sleep","ms":2500}`))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the attempt to start", func() bool {
		st, err := e.srv.Host().Stats("long")
		return err == nil && st.Live > st.Idle
	})
	time.Sleep(300 * time.Millisecond) // past the cold start, into the handler
	stopCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	e.srv.Stop(stopCtx) // runs out: it reports what it could not finish
	cancel()
	e.srv = nil
	killed := e.spans(1, schema.ColFunctionName+" = 'long' AND SpanAttributes['faas.invocation_id'] = ?", id)
	if killed[0].ErrorType == "" {
		t.Fatalf("the killed attempt's span: %+v", killed[0])
	}
	waitFor(t, "the queue's file to be closed", func() bool {
		qcfg := asyncq.DefaultConfig()
		qcfg.Path = filepath.Join(e.cfg.DataDir, "runtime", "queue.db")
		q, err := asyncq.Open(qcfg, nil, nil)
		if err == nil {
			q.Close(ctx)
		}
		return err == nil
	})
	if left := queuePending(t, e); left != 1 {
		t.Fatalf("%d events queued after the stop, want the 1 killed", left)
	}
	e.start()
	attempts := e.spans(2, schema.ColFunctionName+" = 'long' AND SpanAttributes['faas.invocation_id'] = ?", id)
	if last := attempts[len(attempts)-1]; last.ErrorType != "" || last.Attrs["coldtrace.async.attempt"] != "1" {
		t.Fatalf("the event's run after the restart: %+v", last)
	}
	if dl, err := e.c.DeadLetters(ctx, "long"); err != nil || len(dl) != 0 {
		t.Fatalf("dead letters: %+v %v", dl, err)
	}
}

func TestSchedules(t *testing.T) {
	e := newEnv(t)
	cfg := goConfig("ticker")
	cfg.Schedule = "rate(1 second)"
	e.deploy(cfg, goFunction(t))
	ticks := e.spans(2, schema.ColFunctionName+" = 'ticker' AND "+schema.ColIsInvocation)
	for _, s := range ticks[:2] {
		if s.Trigger != telemetry.TriggerTimer || s.Kind != "Internal" || s.ErrorType != "" {
			t.Fatalf("scheduled invocation %+v", s)
		}
	}
	info, err := e.c.Get(context.Background(), "ticker")
	if err != nil || info.NextSchedule == nil {
		t.Fatalf("next schedule: %v %+v", err, info)
	}
}

// queuePending counts the events in a stopped runtime's queue file.
func queuePending(t *testing.T, e *env) int {
	t.Helper()
	cfg := asyncq.DefaultConfig()
	cfg.Path = filepath.Join(e.cfg.DataDir, "runtime", "queue.db")
	q, err := asyncq.Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	return q.Pending("")
}

// An Event invocation whose function is removed while its request is
// under way (headers read, body not yet) is refused with a 404: accepted,
// it was dead-lettered under the name, where a function deployed later
// listed it and ran it on a redrive.
func TestEventForAFunctionRemovedMidRequestIsRefused(t *testing.T) {
	e := newEnv(t)
	e.deploy(goConfig("gone"), goFunction(t))
	ctx := context.Background()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"value":"x"}`
	fmt.Fprintf(conn, "POST /2015-03-31/functions/gone/invocations HTTP/1.1\r\nHost: coldtrace\r\n"+
		"X-Amz-Invocation-Type: Event\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body))
	// The gateway asks for the body once it has found the function.
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("before the body: %q %v", line, err)
	}
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-Errortype") != "ResourceNotFoundException" {
		t.Errorf("event for a function removed mid-request: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
	e.deploy(goConfig("gone"), goFunction(t))
	if n := e.srv.Queue().Pending("gone"); n != 0 {
		t.Errorf("%d events queued for the function deployed again", n)
	}
	if dl, err := e.c.DeadLetters(ctx, "gone"); err != nil || len(dl) != 0 {
		t.Errorf("dead letters of the function deployed again: %+v %v", dl, err)
	}
}

// A new version of a function keeps the events queued for it: they run
// on the new version.
func TestRedeployKeepsQueuedEvents(t *testing.T) {
	e := newEnv(t)
	cfg := goConfig("kept")
	cfg.MaxInstances, cfg.Timeout = 1, registry.Duration(time.Minute)
	e.deploy(cfg, goFunction(t))
	ctx := context.Background()
	// The only instance is busy: the events wait in the queue.
	busy := make(chan error, 1)
	go func() {
		_, err := e.c.Invoke(ctx, "kept", []byte(`{"op":"sleep","ms":15000}`), false)
		busy <- err
	}()
	waitFor(t, "the instance to be busy", func() bool {
		st, err := e.srv.Host().Stats("kept")
		return err == nil && st.Live == 1 && st.Idle == 0
	})
	const n = 4
	for range n {
		if _, err := e.c.InvokeAsync(ctx, "kept", []byte(`{"value":"x"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if p := e.srv.Queue().Pending("kept"); p != n {
		t.Fatalf("%d events queued, want %d", p, n)
	}
	// The new version may run beside the busy one.
	cfg.MaxInstances = 2
	e.deploy(cfg, goFunction(t))
	select {
	case <-busy:
		t.Fatal("the busy invocation ended before the redeploy did; the test needs it busy until then")
	default:
	}
	events := e.spans(n, schema.ColFunctionName+" = 'kept' AND "+schema.ColIsInvocation+" AND "+schema.ColFaasTrigger+" = ?", telemetry.TriggerPubSub)
	for _, s := range events {
		if s.Version != "2" || s.ErrorType != "" {
			t.Errorf("a queued event's run: version %s, error %q; want version 2 without error", s.Version, s.ErrorType)
		}
	}
	if dl, err := e.c.DeadLetters(ctx, "kept"); err != nil || len(dl) != 0 {
		t.Errorf("dead letters: %+v %v", dl, err)
	}
	if err := <-busy; err != nil {
		t.Errorf("the invocation that kept the instance busy: %v", err)
	}
}

// Events queued for a function that went while the runtime was stopped
// (its directory removed, as when an older data directory is restored)
// are dropped: not dead-lettered, nor run on a function deployed under
// the name after the start.
func TestQueuedEventsOfARemovedFunctionDoNotOutliveIt(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Queue.Workers = 1 })
	cfg := goConfig("reborn")
	cfg.MaxInstances = 1
	first := e.deploy(cfg, goFunction(t))
	ctx := context.Background()
	const n = 12
	for range n {
		if _, err := e.c.InvokeAsync(ctx, "reborn", []byte(`{"op":"sleep","ms":100}`)); err != nil {
			t.Fatal(err)
		}
	}
	e.invocations("reborn", 1)
	e.stop()
	if left := queuePending(t, e); left == 0 {
		t.Fatal("every event ran before the stop; the test needs some still queued")
	}
	if err := os.RemoveAll(filepath.Join(e.cfg.DataDir, "runtime", "functions", "reborn")); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.deploy(cfg, goFunction(t))
	waitFor(t, "the old events to leave the queue", func() bool { return e.srv.Queue().Pending("reborn") == 0 })
	if dl, err := e.c.DeadLetters(ctx, "reborn"); err != nil || len(dl) != 0 {
		t.Errorf("the old events were dead-lettered under the new function: %d %v", len(dl), err)
	}
	// Whatever reaches the host for the old incarnation is refused there.
	_, err := e.srv.Host().Invoke(ctx, host.Request{Function: "reborn", Incarnation: first.Incarnation, Payload: []byte(`{}`)})
	if !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("invoking the removed incarnation: %v, want registry.ErrNotFound", err)
	}
	// No old event ran: the new function never started an instance.
	if st, err := e.srv.Host().Stats("reborn"); err != nil || st.Live != 0 {
		t.Errorf("the function deployed again ran old events: %+v %v", st, err)
	}
}
