// Command coldtrace is Coldtrace's one binary: it runs every role together
// (up) or one role each (collector, ...), against the embedded ClickHouse
// engine or a ClickHouse server.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		var exit exitError
		if errors.As(err, &exit) {
			os.Exit(exit.code)
		}
		fmt.Fprintln(os.Stderr, "coldtrace:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a specific status.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "coldtrace",
		Short: "OpenTelemetry tracing backend for serverless functions",
		Long: `Coldtrace stores OpenTelemetry traces in ClickHouse and analyses serverless
functions: cold starts, init time, timeouts and cost. It receives OTLP on
:4317 (gRPC) and :4318 (HTTP), serves a REST API and web UI on :7070, and
runs functions of its own behind a gateway on :8080.

Every flag can also be set in a YAML file (--config), with the flag's name
as the key, or in an environment variable COLDTRACE_<FLAG_NAME> (upper case,
dashes as underscores). Precedence, highest first: command-line flag,
environment variable, config file, built-in default.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return loadConfig(cmd)
		},
	}
	root.PersistentFlags().String("config", "", "YAML config file whose keys are flag names")
	root.PersistentFlags().String("log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().String("log-format", "text", "log format: text or json")
	root.AddCommand(newUpCommand(), newCollectorCommand(), newVersionCommand(), newConfigCommand())
	root.AddCommand(newQueryCommand())
	root.AddCommand(newRuntimeCommand())
	root.AddCommand(newFnCommand())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nRun '%s --help' for usage", err, c.CommandPath())
	})
	return root
}
