// Package client talks to a running function runtime's gateway: the
// management API under /api/v1/functions and the Lambda Invoke API. The
// CLI's `coldtrace fn` commands and `coldtrace up --examples` use it.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/coldtrace/coldtrace/runtime/asyncq"
	"github.com/coldtrace/coldtrace/runtime/bundle"
	"github.com/coldtrace/coldtrace/runtime/gateway"
	"github.com/coldtrace/coldtrace/runtime/registry"
)

// DirConfigFile, if present in a function's directory, holds defaults
// for its deploy configuration (registry.Config as JSON).
const DirConfigFile = "coldtrace.json"

// Client is a gateway client.
type Client struct {
	base  string
	http  *http.Client
	token string
}

// Option adjusts a Client.
type Option func(*Client)

// WithToken sends a bearer token (a gateway started with --auth-token).
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithTLS sets the TLS configuration of an https gateway.
func WithTLS(cfg *tls.Config) Option {
	return func(c *Client) { c.http = &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}} }
}

// New returns a client of the gateway at baseURL (http(s)://host:port).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gateway URL %q: want http://host:port", baseURL)
	}
	c := &Client{base: strings.TrimSuffix(baseURL, "/"), http: &http.Client{}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

func (c *Client) send(req *http.Request) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("is the runtime running at %s? %w", c.base, err)
	}
	return resp, nil
}

// APIError is an error answer of the gateway.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e gateway.Error
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return &APIError{Status: resp.StatusCode, Message: e.Error}
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			// The REST API serves /api/v1/functions too, in another shape.
			return fmt.Errorf("%s %s answered something other than the function gateway's API (is %s the gateway, :8080 by default, and not the REST API?): %w", method, path, c.base, err)
		}
	}
	return nil
}

// LoadDirConfig reads dir's coldtrace.json; ok is false if there is none.
func LoadDirConfig(dir string) (cfg registry.Config, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, DirConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return cfg, false, nil
	}
	if err != nil {
		return cfg, false, err
	}
	if cfg, err = registry.DecodeConfig(b); err != nil {
		return cfg, false, fmt.Errorf("%s: %w", filepath.Join(dir, DirConfigFile), err)
	}
	return cfg, true, nil
}

// Deploy builds dir if needed (see bundle.Build), zips it and deploys it
// with cfg. Build output goes to buildLog.
func (c *Client) Deploy(ctx context.Context, cfg registry.Config, dir string, buildLog io.Writer) (*gateway.FunctionInfo, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	if err := registry.ValidateName(cfg.Name); err != nil {
		return nil, err
	}
	// An unknown runtime builds nothing; the runtime's answer names the
	// supported ones.
	rt, _ := registry.ParseRuntime(string(cfg.Runtime))
	built, cleanup, err := bundle.Build(ctx, dir, rt, buildLog)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := mw.WriteField(gateway.DeployConfigField, string(cfgJSON))
		if err == nil {
			var part io.Writer
			if part, err = mw.CreateFormFile(gateway.DeployCodeField, "code.zip"); err == nil {
				err = bundle.Zip(built, part, buildLog)
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	var info gateway.FunctionInfo
	if err := c.do(ctx, http.MethodPut, gateway.FunctionsPath+"/"+url.PathEscape(cfg.Name), pr, mw.FormDataContentType(), &info); err != nil {
		pr.CloseWithError(err)
		return nil, err
	}
	return &info, nil
}

// List returns every function.
func (c *Client) List(ctx context.Context) ([]gateway.FunctionInfo, error) {
	var l gateway.FunctionList
	if err := c.do(ctx, http.MethodGet, gateway.FunctionsPath, nil, "", &l); err != nil {
		return nil, err
	}
	return l.Functions, nil
}

// Get returns one function.
func (c *Client) Get(ctx context.Context, name string) (*gateway.FunctionInfo, error) {
	var info gateway.FunctionInfo
	if err := c.do(ctx, http.MethodGet, gateway.FunctionsPath+"/"+url.PathEscape(name), nil, "", &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Delete removes a function.
func (c *Client) Delete(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, gateway.FunctionsPath+"/"+url.PathEscape(name), nil, "", nil)
}

// DeadLetters lists a function's dead letters.
func (c *Client) DeadLetters(ctx context.Context, name string) ([]asyncq.DeadLetter, error) {
	var l gateway.DeadLetterList
	if err := c.do(ctx, http.MethodGet, gateway.FunctionsPath+"/"+url.PathEscape(name)+"/dlq", nil, "", &l); err != nil {
		return nil, err
	}
	return l.DeadLetters, nil
}

// PurgeDeadLetters deletes a function's dead letters.
func (c *Client) PurgeDeadLetters(ctx context.Context, name string) (int, error) {
	var n gateway.Count
	err := c.do(ctx, http.MethodDelete, gateway.FunctionsPath+"/"+url.PathEscape(name)+"/dlq", nil, "", &n)
	return n.Count, err
}

// RedriveDeadLetters queues a function's dead letters again.
func (c *Client) RedriveDeadLetters(ctx context.Context, name string) (int, error) {
	var n gateway.Count
	err := c.do(ctx, http.MethodPost, gateway.FunctionsPath+"/"+url.PathEscape(name)+"/dlq/redrive", nil, "", &n)
	return n.Count, err
}

// InvokeResult is the answer of a synchronous invocation.
type InvokeResult struct {
	RequestID string
	Payload   []byte
	// FunctionError is "Unhandled" when the function failed.
	FunctionError string
	// ErrorType is the span contract's error.type ("" on success).
	ErrorType string
	ColdStart bool
	TraceID   string
	// LogTail is the end of the invocation's log, if asked for.
	LogTail string
}

// Invoke runs a function synchronously through the Lambda Invoke API.
func (c *Client) Invoke(ctx context.Context, name string, payload []byte, tail bool) (*InvokeResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+gateway.InvokePath+url.PathEscape(name)+"/invocations", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	if tail {
		req.Header.Set(gateway.HeaderLogType, "Tail")
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(b))
		}
		return nil, &APIError{Status: resp.StatusCode, Message: resp.Header.Get(gateway.HeaderAmznErrorType) + ": " + e.Message}
	}
	res := &InvokeResult{
		RequestID: resp.Header.Get(gateway.HeaderAmznRequestID), Payload: b,
		FunctionError: resp.Header.Get(gateway.HeaderFunctionError), ErrorType: resp.Header.Get(gateway.HeaderErrorType),
		ColdStart: resp.Header.Get(gateway.HeaderColdStart) == "true", TraceID: resp.Header.Get(gateway.HeaderTraceID),
	}
	if lt := resp.Header.Get(gateway.HeaderLogResult); lt != "" {
		if t, err := base64.StdEncoding.DecodeString(lt); err == nil {
			res.LogTail = string(t)
		}
	}
	return res, nil
}

// InvokeAsync queues an Event invocation; it returns the request id.
func (c *Client) InvokeAsync(ctx context.Context, name string, payload []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+gateway.InvokePath+url.PathEscape(name)+"/invocations", bytes.NewReader(payload))
	if err != nil {
		return "", err
	}
	req.Header.Set(gateway.HeaderInvocationType, "Event")
	resp, err := c.send(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return "", &APIError{Status: resp.StatusCode, Message: strings.TrimSpace(string(b))}
	}
	return resp.Header.Get(gateway.HeaderAmznRequestID), nil
}
