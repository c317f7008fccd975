package schema

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/internal/chclient"
	"github.com/coldtrace/coldtrace/internal/chtest"
)

// migrateConcurrently runs Migrate from n goroutines at once, as n
// processes starting together would, and fails the test on any error.
func migrateConcurrently(t *testing.T, c *chclient.Client, o Options, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() { errs <- Migrate(context.Background(), c, o, nil) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// lockExists reports whether anyone holds o's migration lock: every
// holder's lock has a comment.
func lockExists(t *testing.T, c *chclient.Client, o Options) bool {
	t.Helper()
	comment, err := (&migrationLock{conn: c, o: o}).comment(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return comment != ""
}

// Processes that start together on an empty database all succeed, and
// leave the schema whole and the lock released. Without the lock,
// migration 4 of one drops the table that migration 3 of another copies
// from.
func TestConcurrentMigrateOnEmptyDatabase(t *testing.T) {
	for round := range 3 {
		c := chtest.Client(t)
		o := Options{Database: c.Database, Retention: 7 * 24 * time.Hour}
		migrateConcurrently(t, c, o, 4)
		applied, err := AppliedVersions(context.Background(), c, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != len(Migrations) {
			t.Errorf("round %d: %d migrations recorded, want %d", round, len(applied), len(Migrations))
		}
		if lockExists(t, c, o) {
			t.Errorf("round %d: lock left behind", round)
		}
	}
}

// Processes upgrading one database together copy each backfilled table
// once: the hourly rollup (migration 2) and the trace-id lookup
// (migration 3) hold sums, so a second copy would double them.
func TestConcurrentUpgradeBackfillsOnce(t *testing.T) {
	c := chtest.Client(t)
	o := Options{Database: c.Database, Retention: 7 * 24 * time.Hour}
	migrateTo(t, c, o, 1)
	insertInvocations(t, c, o, "fn", 3, 40)
	minutes, lookup := rollupTotals(t, c, o.Table(FunctionStatsTable)), lookupTotals(t, c, o.Table(TraceIDTimesTable))
	migrateConcurrently(t, c, o, 3)
	if got := rollupTotals(t, c, o.Table(HourlyFunctionStatsTable)); got != minutes {
		t.Errorf("hourly rollup %s, per-minute rollup %s", got, minutes)
	}
	if got := lookupTotals(t, c, o.Table(TraceIDLookupTable)); got != lookup {
		t.Errorf("moved lookup %s, old one %s", got, lookup)
	}
}

// emptyDatabaseWithLockTiming shortens the lock's heartbeat and staleness
// for a test and gives it an empty database.
func emptyDatabaseWithLockTiming(t *testing.T, heartbeat, stale time.Duration) (*chclient.Client, Options) {
	hb, st, poll := lockHeartbeat, lockStaleAfter, lockPoll
	lockHeartbeat, lockStaleAfter, lockPoll = heartbeat, stale, 20*time.Millisecond
	t.Cleanup(func() { lockHeartbeat, lockStaleAfter, lockPoll = hb, st, poll })
	c := chtest.Client(t)
	o := Options{Database: c.Database, Retention: 7 * 24 * time.Hour}
	if err := c.Exec(context.Background(), "CREATE DATABASE IF NOT EXISTS `"+o.Database+"`"); err != nil {
		t.Fatal(err)
	}
	return c, o
}

// A lock left by a process that died is broken once its comment has not
// changed for lockStaleAfter, and the migration goes ahead.
func TestStaleMigrationLockIsBroken(t *testing.T) {
	c, o := emptyDatabaseWithLockTiming(t, 100*time.Millisecond, 500*time.Millisecond)
	ctx := context.Background()
	dead := &migrationLock{o: o, owner: "dead pid 1"}
	if err := c.Exec(ctx, dead.createStatement()); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, c, o, nil); err != nil {
		t.Fatal(err)
	}
	if lockExists(t, c, o) {
		t.Error("lock left behind")
	}
}

// A live holder's lock is not broken, however long it is held: its
// heartbeat keeps it fresh. Migrate waits and goes ahead once it is
// released.
func TestLiveMigrationLockIsWaitedFor(t *testing.T) {
	c, o := emptyDatabaseWithLockTiming(t, 50*time.Millisecond, 300*time.Millisecond)
	ctx := context.Background()
	held, err := acquireLock(ctx, c, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Migrate(ctx, c, o, nil) }()
	select {
	case err := <-done:
		t.Fatalf("Migrate finished while another process held the lock: %v", err)
	case <-time.After(5 * lockStaleAfter):
	}
	if applied, err := AppliedVersions(ctx, c, o); err == nil && len(applied) > 0 {
		t.Fatalf("migrations %v applied under another holder's lock", applied)
	}
	if err := held.release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A lock left by a process of this host that is gone (killed mid-migration)
// is broken once it misses two heartbeats, without waiting lockStaleAfter;
// so is one left by a release before pid namespaces were named.
func TestLockOfAProcessGoneFromThisHost(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	host, _, _ := strings.Cut(pidSpace(), "~")
	for _, owner := range []string{
		fmt.Sprintf("%s pid %d 0badf00d", pidSpace(), gone.Process.Pid),
		fmt.Sprintf("%s pid %d 0badf00d", host, gone.Process.Pid), // an older release's
	} {
		c, o := emptyDatabaseWithLockTiming(t, 100*time.Millisecond, time.Hour)
		ctx := context.Background()
		dead := &migrationLock{o: o, owner: owner}
		if err := c.Exec(ctx, dead.createStatement()); err != nil {
			t.Fatal(err)
		}
		mctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := Migrate(mctx, c, o, nil)
		cancel()
		if err != nil {
			t.Fatalf("migrating past the lock of gone holder %q: %v", owner, err)
		}
	}
}
