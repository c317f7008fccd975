// Package registry holds the deployed functions: their configuration, a
// version bumped by every deploy, and their code, persisted under the data
// directory so a restart finds them again.
package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/coldtrace/coldtrace/runtime/schedule"
)

// Runtime names how a function's process is started.
type Runtime string

// Supported runtimes.
const (
	NodeJS20  Runtime = "nodejs20"   // Coldtrace's Node.js bootstrap, handler "file.export"
	Python311 Runtime = "python3.11" // Coldtrace's Python bootstrap, handler "module.function"
	// Provided runs an executable named bootstrap from the code directory
	// that speaks the Lambda Runtime API itself, e.g. a Go program built
	// with github.com/aws/aws-lambda-go.
	Provided Runtime = "provided"
)

// Runtimes lists the supported runtimes.
var Runtimes = []Runtime{NodeJS20, Python311, Provided}

// runtimeAliases are the AWS identifiers accepted for our runtimes.
var runtimeAliases = map[string]Runtime{
	"nodejs20.x": NodeJS20, "python3": Python311, "provided.al2023": Provided, "provided.al2": Provided,
}

// ParseRuntime accepts a runtime name or its AWS identifier.
func ParseRuntime(s string) (Runtime, error) {
	for _, r := range Runtimes {
		if string(r) == s {
			return r, nil
		}
	}
	if r, ok := runtimeAliases[s]; ok {
		return r, nil
	}
	names := make([]string, len(Runtimes))
	for i, r := range Runtimes {
		names[i] = string(r)
	}
	return "", fmt.Errorf("unknown runtime %q (supported: %s)", s, strings.Join(names, ", "))
}

// Limits of a function's configuration.
const (
	MinMemoryMB     = 32
	MaxMemoryMB     = 10240
	MaxTimeout      = 15 * time.Minute
	MaxInstancesCap = 1000
	MinIdleTimeout  = time.Second
	MaxQueueWait    = 15 * time.Minute
)

// Defaults applied by Config.WithDefaults.
const (
	DefaultMemoryMB     = 128
	DefaultTimeout      = 3 * time.Second
	DefaultMaxInstances = 10
	DefaultIdleTimeout  = 5 * time.Minute
	DefaultQueueWait    = time.Second
)

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidateName reports whether name can name a function (Lambda's rule:
// letters, digits, '-' and '_', at most 64).
func ValidateName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("function name %q: use 1-64 letters, digits, '-' or '_'", name)
	}
	return nil
}

// reservedEnv are variables the runtime sets for every function that
// Lambda reserves too (its "reserved environment variables"). The ones it
// leaves to users (TZ, LANG, PATH) and the OTEL_ variables, which point a
// function's own SDK somewhere, may be set by a deploy, whose value wins.
var reservedEnv = map[string]bool{
	"AWS_LAMBDA_RUNTIME_API": true, "_HANDLER": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
	"AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true, "_X_AMZN_TRACE_ID": true,
	"AWS_LAMBDA_INITIALIZATION_TYPE": true, "AWS_REGION": true, "AWS_DEFAULT_REGION": true, "AWS_EXECUTION_ENV": true,
	"COLDTRACE_SPAN_FD": true,
}

var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Config is what a deploy sets. Zero values mean the defaults (see
// DecodeConfig for JSON that gives a zero explicitly).
type Config struct {
	Name    string  `json:"name"`
	Runtime Runtime `json:"runtime"`
	// Handler is "file.export" (Node), "module.function" (Python); the
	// provided runtime ignores it but passes it on in _HANDLER.
	Handler  string            `json:"handler,omitempty"`
	MemoryMB int               `json:"memoryMB,omitempty"`
	Timeout  Duration          `json:"timeout,omitempty"`
	Env      map[string]string `json:"env,omitempty"`
	// MaxInstances caps concurrent instances (each serves one invocation
	// at a time); MinInstances are kept started and warm.
	MaxInstances int `json:"maxInstances,omitempty"`
	MinInstances int `json:"minInstances,omitempty"`
	// IdleTimeout is how long an unused instance lives before it is
	// stopped (scale to zero).
	IdleTimeout Duration `json:"idleTimeout,omitempty"`
	// QueueWait bounds how long an invocation waits for a free instance
	// when MaxInstances are busy before it is throttled.
	QueueWait Duration `json:"queueWait,omitempty"`
	// Schedule is "rate(5 minutes)", "cron(0 12 * * ? *)" or a
	// five-field cron expression; empty for none.
	Schedule string `json:"schedule,omitempty"`
}

// WithDefaults returns c with zero fields set to their defaults and an
// AWS runtime identifier (nodejs20.x, provided.al2023) turned into ours.
func (c Config) WithDefaults() Config {
	if r, ok := runtimeAliases[string(c.Runtime)]; ok {
		c.Runtime = r
	}
	if c.MemoryMB == 0 {
		c.MemoryMB = DefaultMemoryMB
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(DefaultTimeout)
	}
	if c.MaxInstances == 0 {
		c.MaxInstances = DefaultMaxInstances
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = Duration(DefaultIdleTimeout)
	}
	if c.QueueWait == 0 {
		c.QueueWait = Duration(DefaultQueueWait)
	}
	return c
}

// Validate checks everything that does not need the code; all problems
// are reported at once.
func (c Config) Validate() error {
	var errs []error
	if err := ValidateName(c.Name); err != nil {
		errs = append(errs, err)
	}
	if r, err := ParseRuntime(string(c.Runtime)); err != nil {
		errs = append(errs, err)
	} else if r != Provided {
		if _, _, err := splitHandler(c.Handler); err != nil {
			errs = append(errs, err)
		}
	}
	if c.MemoryMB < MinMemoryMB || c.MemoryMB > MaxMemoryMB {
		errs = append(errs, fmt.Errorf("memory %d MB: must be between %d and %d", c.MemoryMB, MinMemoryMB, MaxMemoryMB))
	}
	if c.Timeout <= 0 || c.Timeout.D() > MaxTimeout {
		errs = append(errs, fmt.Errorf("timeout %s: must be more than 0 and at most %s", c.Timeout, MaxTimeout))
	}
	if c.MaxInstances < 1 || c.MaxInstances > MaxInstancesCap {
		errs = append(errs, fmt.Errorf("max instances %d: must be between 1 and %d", c.MaxInstances, MaxInstancesCap))
	}
	if c.MinInstances < 0 || c.MinInstances > c.MaxInstances {
		errs = append(errs, fmt.Errorf("min instances %d: must be between 0 and max instances (%d)", c.MinInstances, c.MaxInstances))
	}
	if c.IdleTimeout.D() < MinIdleTimeout {
		errs = append(errs, fmt.Errorf("idle timeout %s: must be at least %s", c.IdleTimeout, MinIdleTimeout))
	}
	if c.QueueWait < 0 || c.QueueWait.D() > MaxQueueWait {
		errs = append(errs, fmt.Errorf("queue wait %s: must be between 0 and %s", c.QueueWait, MaxQueueWait))
	}
	keys := make([]string, 0, len(c.Env))
	for k := range c.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case !envNamePattern.MatchString(k):
			errs = append(errs, fmt.Errorf("environment variable %q: not a valid name", k))
		case reservedEnv[k]:
			errs = append(errs, fmt.Errorf("environment variable %s is set by the runtime and cannot be overridden", k))
		}
	}
	if c.Schedule != "" {
		if _, err := schedule.Parse(c.Schedule); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// splitHandler splits "path/to/module.export" into module path and
// export name.
func splitHandler(h string) (module, export string, err error) {
	i := strings.LastIndexByte(h, '.')
	if h == "" {
		return "", "", errors.New("handler is required for this runtime (e.g. index.handler or app.handler)")
	}
	if i <= 0 || i == len(h)-1 {
		return "", "", fmt.Errorf("handler %q: expected MODULE.FUNCTION, e.g. index.handler", h)
	}
	module, export = h[:i], h[i+1:]
	if strings.HasPrefix(module, "/") || strings.Contains(module, "..") {
		return "", "", fmt.Errorf("handler %q: the module must be a relative path inside the code", h)
	}
	return module, export, nil
}

// Duration is a time.Duration written as text ("3s") in JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON accepts "3s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("duration: want a string such as \"3s\" or a number of seconds, got %s", b)
	}
	*d = Duration(time.Duration(secs * float64(time.Second)))
	return nil
}

// DecodeConfig reads a configuration from JSON, refusing unknown fields.
// A field left out takes its default; one given as zero is an error, not
// a request for the default, so a typo cannot deploy a function that can
// never run.
func DecodeConfig(b []byte) (Config, error) {
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("function configuration: %w", err)
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(b, &present); err != nil {
		return cfg, fmt.Errorf("function configuration: %w", err)
	}
	var errs []error
	for _, f := range []struct {
		key  string
		zero bool
		def  any
	}{
		{"memoryMB", cfg.MemoryMB == 0, DefaultMemoryMB},
		{"timeout", cfg.Timeout == 0, DefaultTimeout},
		{"maxInstances", cfg.MaxInstances == 0, DefaultMaxInstances},
		{"idleTimeout", cfg.IdleTimeout == 0, DefaultIdleTimeout},
		{"queueWait", cfg.QueueWait == 0, DefaultQueueWait},
	} {
		if _, ok := present[f.key]; ok && f.zero {
			errs = append(errs, fmt.Errorf("%s is zero: it must be more than 0 (leave it out for the default, %v)", f.key, f.def))
		}
	}
	if len(errs) > 0 {
		// Report every problem at once, as Validate does, but only of what
		// is given: the caller may still fill the name (the directory's),
		// the runtime and the handler (flags).
		probe := cfg.WithDefaults()
		if probe.Name == "" {
			probe.Name = "unnamed"
		}
		if probe.Runtime == "" {
			probe.Runtime = NodeJS20
		}
		if probe.Handler == "" {
			probe.Handler = "index.handler"
		}
		if err := probe.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return cfg, errors.Join(errs...)
}
