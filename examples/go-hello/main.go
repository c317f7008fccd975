// Command go-hello is an ordinary AWS Lambda function written with
// github.com/aws/aws-lambda-go, unmodified: Coldtrace runs its binary as
// the "provided" runtime's bootstrap.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Name                  string            `json:"name"`
	QueryStringParameters map[string]string `json:"queryStringParameters"`
}

type response struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

func handler(ctx context.Context, req request) (response, error) {
	name := req.Name
	if n := req.QueryStringParameters["name"]; n != "" {
		name = n
	}
	if name == "" {
		name = "world"
	}
	if name == "fail" {
		return response{}, fmt.Errorf("asked to fail")
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	fmt.Printf("greeting %s (request %s, trace %s)\n", name, lc.AwsRequestID, os.Getenv("_X_AMZN_TRACE_ID"))
	body := fmt.Sprintf(`{"greeting":"hello %s","requestId":%q,"functionArn":%q,"deadline":%q}`,
		name, lc.AwsRequestID, lc.InvokedFunctionArn, deadline.Format("15:04:05.000"))
	return response{StatusCode: 200, Headers: map[string]string{"content-type": "application/json"}, Body: body}, nil
}

func main() {
	lambda.Start(handler)
}
