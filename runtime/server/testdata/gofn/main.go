// Command gofn is a test function built with github.com/aws/aws-lambda-go:
// it echoes, fails, panics, crashes, sleeps or starts a child process on
// request, so tests drive every outcome through an unmodified Lambda
// client library.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Op    string `json:"op"`
	Ms    int    `json:"ms"`
	Value string `json:"value"`
}

type result struct {
	Value       string `json:"value"`
	RequestID   string `json:"requestId"`
	FunctionARN string `json:"functionArn"`
	TraceID     string `json:"traceId"`
	Remaining   int64  `json:"remainingMs"`
	PID         int    `json:"pid"`
	Child       int    `json:"child,omitempty"`
}

func handler(ctx context.Context, ev event) (result, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	res := result{Value: ev.Value, RequestID: lc.AwsRequestID, FunctionARN: lc.InvokedFunctionArn,
		TraceID: os.Getenv("_X_AMZN_TRACE_ID"), Remaining: time.Until(deadline).Milliseconds(), PID: os.Getpid()}
	switch ev.Op {
	case "fail":
		return res, errors.New("failed on purpose")
	case "panic":
		panic("panicked on purpose")
	case "crash":
		fmt.Println("crashing on purpose")
		os.Exit(3)
	case "sleep":
		fmt.Println("sleeping", ev.Ms, "ms")
		time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
	case "spawn":
		// A child that would outlive the function if the host did not kill
		// the instance's whole process group.
		cmd := exec.Command("/bin/sleep", "300")
		if err := cmd.Start(); err != nil {
			return res, err
		}
		res.Child = cmd.Process.Pid
	}
	return res, nil
}

func main() {
	lambda.Start(handler)
}
