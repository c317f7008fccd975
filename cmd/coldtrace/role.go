package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// roleCommand builds the command of a role: it sets up logging from the
// global flags and runs run with the command's context (ended by SIGINT or
// SIGTERM).
func roleCommand(use, short, long string, run func(ctx context.Context, log *slog.Logger) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(cmd)
			if err != nil {
				return err
			}
			return run(cmd.Context(), log)
		},
	}
}

// lifecycle collects what a role started, to stop it in reverse order.
type lifecycle struct {
	timeout time.Duration
	stops   []func(context.Context) error
}

func (l *lifecycle) register(fs *pflag.FlagSet, what string) {
	fs.DurationVar(&l.timeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long "+what)
}

// started records how to stop a part, last started first stopped.
func (l *lifecycle) started(stop func(context.Context) error) { l.stops = append(l.stops, stop) }

// stop stops everything started, within the shutdown timeout.
func (l *lifecycle) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	var errs []error
	for i := len(l.stops) - 1; i >= 0; i-- {
		errs = append(errs, l.stops[i](ctx))
	}
	l.stops = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// runUntilDone waits for ctx to end, then stops everything. A start error
// stops what had started and is returned with any stop errors.
func (l *lifecycle) runUntilDone(ctx context.Context, log *slog.Logger, startErr error) error {
	if startErr != nil {
		return errors.Join(startErr, l.stop())
	}
	<-ctx.Done()
	log.Info("shutting down", "timeout", l.timeout)
	return l.stop()
}
