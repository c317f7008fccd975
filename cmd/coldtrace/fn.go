package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/coldtrace/coldtrace/runtime/client"
	"github.com/coldtrace/coldtrace/runtime/registry"
)

// fnOptions are the flags every 'coldtrace fn' command has.
type fnOptions struct {
	gateway string
	timeout time.Duration
	token   string
	ca      string
}

func (o *fnOptions) client() (*client.Client, error) {
	var opts []client.Option
	if o.token != "" {
		opts = append(opts, client.WithToken(o.token))
	}
	if o.ca != "" {
		cfg, err := trustCertificate(o.ca)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithTLS(cfg))
	}
	return client.New(o.gateway, opts...)
}

func newFnCommand() *cobra.Command {
	o := &fnOptions{}
	cmd := &cobra.Command{
		Use:   "fn",
		Short: "Deploy, list, invoke and remove functions of a running runtime",
		Long: `Manage the functions of a running Coldtrace runtime ('coldtrace up' or
'coldtrace runtime') through its gateway (--gateway).`,
	}
	cmd.PersistentFlags().StringVar(&o.gateway, "gateway", "http://127.0.0.1:8080", "base URL of the runtime's gateway")
	cmd.PersistentFlags().DurationVar(&o.timeout, "request-timeout", 10*time.Minute, "give up on the gateway after this long")
	cmd.PersistentFlags().StringVar(&o.token, "token", "", "bearer token for a gateway started with --auth-token (admin scope to manage, invoke scope to invoke)")
	cmd.PersistentFlags().StringVar(&o.ca, "gateway-ca", "", "PEM certificate to trust for an https gateway (e.g. its --tls-cert)")
	cmd.AddCommand(newFnDeployCommand(o), newFnListCommand(o), newFnGetCommand(o), newFnInvokeCommand(o), newFnRmCommand(o), newFnDLQCommand(o))
	return cmd
}

// call runs f with a client of the gateway, within the request timeout.
func (o *fnOptions) call(cmd *cobra.Command, f func(ctx context.Context, c *client.Client) error) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	defer cancel()
	return o.explain(f(ctx, c))
}

// explain adds to a gateway error what the user can do about it.
func (o *fnOptions) explain(err error) error {
	var certErr *tls.CertificateVerificationError
	var apiErr *client.APIError
	switch {
	case errors.As(err, &certErr):
		return fmt.Errorf("%s: its TLS certificate is not trusted; give --gateway-ca with the gateway's certificate (the runtime's --tls-cert): %w", o.gateway, certErr.Err)
	case !errors.As(err, &apiErr):
		return err
	case apiErr.Status == http.StatusUnauthorized:
		return fmt.Errorf("%w; give a token of the gateway's --auth-token or --auth-tokens-file with --token or COLDTRACE_TOKEN", err)
	case !fromGateway(apiErr):
		return fmt.Errorf("%s answered something other than the function gateway's API (is it the gateway, :8080 by default, and not the REST API?): %s (HTTP %d)",
			o.gateway, strings.TrimPrefix(apiErr.Message, ": "), apiErr.Status)
	}
	return err
}

// fromGateway tells a gateway's error answer from another server's: the
// gateway's errors are a message (a Lambda API error has its type before
// it); another server's is its raw body, or has no Lambda error type.
func fromGateway(e *client.APIError) bool {
	return !strings.HasPrefix(e.Message, ": ") && !strings.HasPrefix(e.Message, "{") && !strings.HasPrefix(e.Message, "<")
}

// nameArg is the argument check of the commands that take one NAME (or
// DIR): without it, the usage line says what is missing.
func nameArg(c *cobra.Command, args []string) error {
	if len(args) == 1 {
		return nil
	}
	arg := strings.Fields(c.Use)[1]
	problem := "missing " + arg
	if len(args) > 1 {
		problem = fmt.Sprintf("takes one %s, got %d arguments", arg, len(args))
	}
	return fmt.Errorf("%s\nUsage: %s\nRun '%s --help' for more", problem, c.UseLine(), c.CommandPath())
}

type deployFlags struct {
	name, runtime, handler, schedule  string
	memory, concurrency, minInstances int
	timeout, idleTimeout, queueWait   time.Duration
	env                               []string
}

func newFnDeployCommand(o *fnOptions) *cobra.Command {
	f := &deployFlags{}
	cmd := &cobra.Command{
		Use:   "deploy DIR",
		Short: "Deploy the function in DIR (a new version if it exists)",
		Long: `Deploy the code in DIR. Settings come from the flags, else from DIR/coldtrace.json,
else the defaults. Runtimes: nodejs20 (handler FILE.EXPORT), python3.11
(handler MODULE.FUNCTION) and provided (an executable named bootstrap that
speaks the Lambda Runtime API, e.g. a Go program using aws-lambda-go; Go
sources without a bootstrap are built with go build). Node dependencies in
package.json are installed with npm if node_modules is missing.

  coldtrace fn deploy examples/node-hello --name hello --runtime nodejs20 --handler index.handler
  coldtrace fn deploy ./ticker --runtime python3.11 --handler app.handler --schedule 'rate(1 minute)'`,
		Args: nameArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return fmt.Errorf("%s is not a directory", dir)
			}
			cfg, _, err := client.LoadDirConfig(dir)
			if err != nil {
				return err
			}
			if err := f.apply(cmd, &cfg, dir); err != nil {
				return err
			}
			return o.call(cmd, func(ctx context.Context, c *client.Client) error {
				info, err := c.Deploy(ctx, cfg, dir, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deployed %s version %d (%s, %d MB, timeout %s)\n  invoke: coldtrace fn invoke %s\n  http:   %s\n",
					info.Name, info.Version, info.Runtime, info.MemoryMB, info.Timeout, info.Name, info.URL)
				return nil
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.name, "name", "", "function name (default: DIR's base name)")
	fs.StringVar(&f.runtime, "runtime", "", "nodejs20, python3.11 or provided")
	fs.StringVar(&f.handler, "handler", "", "handler: index.handler (Node), app.handler (Python)")
	// The defaults are shown, not applied: settings not given come from
	// DIR/coldtrace.json, else the runtime's defaults (the same).
	fs.IntVar(&f.memory, "memory", registry.DefaultMemoryMB, "memory limit in MB")
	fs.DurationVar(&f.timeout, "timeout", registry.DefaultTimeout, "invocation timeout")
	fs.IntVar(&f.concurrency, "concurrency", registry.DefaultMaxInstances, "most instances at once")
	fs.IntVar(&f.minInstances, "min-instances", 0, "instances kept started and warm")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", registry.DefaultIdleTimeout, "stop an instance unused this long")
	fs.DurationVar(&f.queueWait, "queue-wait", registry.DefaultQueueWait, "longest wait for a free instance before throttling")
	fs.StringArrayVar(&f.env, "env", nil, "environment variable KEY=VALUE (repeatable)")
	fs.StringVar(&f.schedule, "schedule", "", "invoke on a schedule: 'rate(5 minutes)', 'cron(0 12 * * ? *)' or five-field cron")
	return cmd
}

// apply overrides cfg with the flags given on the command line, in
// COLDTRACE_* variables or in the config file.
func (f *deployFlags) apply(cmd *cobra.Command, cfg *registry.Config, dir string) error {
	set := cmd.Flags().Changed
	for _, name := range []string{"memory", "timeout", "concurrency", "idle-timeout", "queue-wait"} {
		if fl := cmd.Flags().Lookup(name); fl.Changed && (fl.Value.String() == "0" || fl.Value.String() == "0s") {
			return fmt.Errorf("%s 0: must be more than 0 (leave it out for the default)", flagSource(cmd.Flags(), name))
		}
	}
	if set("name") {
		cfg.Name = f.name
	}
	if cfg.Name == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		cfg.Name = filepath.Base(abs)
	}
	if set("runtime") {
		cfg.Runtime = registry.Runtime(f.runtime)
	}
	if cfg.Runtime == "" {
		return fmt.Errorf("--runtime is required (nodejs20, python3.11 or provided), here or in %s", client.DirConfigFile)
	}
	if set("handler") {
		cfg.Handler = f.handler
	}
	if set("memory") {
		cfg.MemoryMB = f.memory
	}
	if set("timeout") {
		cfg.Timeout = registry.Duration(f.timeout)
	}
	if set("concurrency") {
		cfg.MaxInstances = f.concurrency
	}
	if set("min-instances") {
		cfg.MinInstances = f.minInstances
	}
	if set("idle-timeout") {
		cfg.IdleTimeout = registry.Duration(f.idleTimeout)
	}
	if set("queue-wait") {
		cfg.QueueWait = registry.Duration(f.queueWait)
	}
	if set("schedule") {
		cfg.Schedule = f.schedule
	}
	for _, kv := range f.env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("--env %q: want KEY=VALUE", kv)
		}
		if cfg.Env == nil {
			cfg.Env = map[string]string{}
		}
		cfg.Env[k] = v
	}
	// Fail early with every problem; the runtime checks again.
	if err := cfg.WithDefaults().Validate(); err != nil {
		return namingFlags(cmd, err)
	}
	return nil
}

// deploySettingFlags maps the settings registry.Config.Validate names at
// the start of its messages to the deploy flags that set them.
var deploySettingFlags = []struct{ setting, flag string }{
	{"memory ", "memory"},
	{"timeout ", "timeout"},
	{"max instances ", "concurrency"},
	{"min instances ", "min-instances"},
	{"idle timeout ", "idle-timeout"},
	{"queue wait ", "queue-wait"},
	{"handler ", "handler"},
}

// namingFlags prefixes each problem of a value given as a flag (or
// COLDTRACE_* variable, or config key) with where it was given: the
// registry says "max instances 1001", the user typed --concurrency.
func namingFlags(cmd *cobra.Command, err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		for _, s := range deploySettingFlags {
			if strings.HasPrefix(l, s.setting) && cmd.Flags().Changed(s.flag) {
				lines[i] = flagSource(cmd.Flags(), s.flag) + ": " + l
				break
			}
		}
	}
	return errors.New(strings.Join(lines, "\n"))
}

func newFnListCommand(o *fnOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List deployed functions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.call(cmd, func(ctx context.Context, c *client.Client) error {
				fns, err := c.List(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tVERSION\tRUNTIME\tHANDLER\tMEMORY\tTIMEOUT\tINSTANCES\tSCHEDULE\tDLQ")
				for _, f := range fns {
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d MB\t%s\t%d live, %d idle (max %d)\t%s\t%d\n",
						f.Name, f.Version, f.Runtime, dash(f.Handler), f.MemoryMB, f.Timeout,
						f.Instances.Live, f.Instances.Idle, f.MaxInstances, dash(f.Schedule), f.DeadLetters)
				}
				return tw.Flush()
			})
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newFnGetCommand(o *fnOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME",
		Short: "Show a function's configuration and state as JSON",
		Args:  nameArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.call(cmd, func(ctx context.Context, c *client.Client) error {
				info, err := c.Get(ctx, args[0])
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), info)
			})
		},
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newFnInvokeCommand(o *fnOptions) *cobra.Command {
	var payload string
	var async, noLogs bool
	cmd := &cobra.Command{
		Use:   "invoke NAME",
		Short: "Invoke a function and print its answer (its log tail goes to stderr)",
		Long: `Invoke a function through the Lambda Invoke API. The answer is printed on
stdout; the end of the invocation's log (LogType Tail) on stderr. The exit
status is 1 when the function failed. --async queues an Event invocation
and prints its request id.

  coldtrace fn invoke hello --payload '{"name":"ada"}'
  coldtrace fn invoke hello --payload @event.json`,
		Args: nameArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := readPayload(payload)
			if err != nil {
				return err
			}
			return o.call(cmd, func(ctx context.Context, c *client.Client) error {
				if async {
					id, err := c.InvokeAsync(ctx, args[0], body)
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "queued, request id %s\n", id)
					return nil
				}
				res, err := c.Invoke(ctx, args[0], body, !noLogs)
				if err != nil {
					return err
				}
				if res.LogTail != "" {
					fmt.Fprint(cmd.ErrOrStderr(), res.LogTail)
				}
				if res.TraceID != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "trace %s\n", res.TraceID)
				}
				fmt.Fprintln(cmd.OutOrStdout(), string(res.Payload))
				if res.FunctionError != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "the function failed: %s\n", res.ErrorType)
					return exitError{code: 1}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&payload, "payload", "{}", "event as JSON, or @FILE to read it from a file (@- for stdin)")
	cmd.Flags().BoolVar(&async, "async", false, "queue the event (InvocationType Event) instead of waiting")
	cmd.Flags().BoolVar(&noLogs, "no-logs", false, "do not fetch the invocation's log tail")
	return cmd
}

func readPayload(p string) ([]byte, error) {
	switch {
	case p == "@-":
		return io.ReadAll(os.Stdin)
	case strings.HasPrefix(p, "@"):
		b, err := os.ReadFile(p[1:])
		if err != nil {
			return nil, fmt.Errorf("--payload: %w", err)
		}
		return b, nil
	}
	if !json.Valid([]byte(p)) {
		return nil, fmt.Errorf("--payload is not valid JSON: %s", p)
	}
	return []byte(p), nil
}

func newFnRmCommand(o *fnOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME",
		Aliases: []string{"delete", "remove"},
		Short:   "Remove a function (its instances stop)",
		Args:    nameArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.call(cmd, func(ctx context.Context, c *client.Client) error {
				if err := c.Delete(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", args[0])
				return nil
			})
		},
	}
}

func newFnDLQCommand(o *fnOptions) *cobra.Command {
	var purge, redrive bool
	cmd := &cobra.Command{
		Use:   "dlq NAME",
		Short: "Show the async events of a function that failed every retry",
		Long: `List the dead-letter list of a function: async (Event or scheduled)
invocations that failed their first attempt and every retry. --redrive
queues them again; --purge deletes them.`,
		Args: nameArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if purge && redrive {
				return fmt.Errorf("--purge and --redrive exclude each other")
			}
			return o.call(cmd, func(ctx context.Context, c *client.Client) error {
				switch {
				case purge:
					n, err := c.PurgeDeadLetters(ctx, args[0])
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "purged %d dead letters\n", n)
					return nil
				case redrive:
					n, err := c.RedriveDeadLetters(ctx, args[0])
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "queued %d dead letters again\n", n)
					return nil
				}
				dl, err := c.DeadLetters(ctx, args[0])
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "REQUEST ID\tFAILED AT\tATTEMPTS\tERROR TYPE\tERROR\tPAYLOAD")
				for _, d := range dl {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.FailedAt.UTC().Format(time.RFC3339), d.Attempts,
						d.LastErrorType, oneLine(d.LastError, 80), oneLine(string(d.Payload), 60))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&purge, "purge", false, "delete the dead letters")
	cmd.Flags().BoolVar(&redrive, "redrive", false, "queue the dead letters again")
	return cmd
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}
