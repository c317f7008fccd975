package schema

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The migration lock serialises Migrate across processes. Statements that
// are each safe to rerun are not safe to interleave: two processes
// backfilling one table at once store its rows twice, and one process's
// migration 4 drops the table another's migration 3 is copying from (seen
// when `coldtrace up` and a collector started together). ClickHouse has no
// advisory locks, but it creates a table name once: the process whose
// CREATE TABLE succeeds holds the lock until it drops the table.
//
// A holder that dies leaves the table behind, so the holder rewrites the
// table's comment every lockHeartbeat, and a waiter that sees the comment
// unchanged for lockStaleAfter (by its own clock, so clock skew between
// hosts does not matter) drops the table and competes for it again.
var (
	lockHeartbeat  = 5 * time.Second
	lockStaleAfter = 30 * time.Second
	lockPoll       = 200 * time.Millisecond
)

// errLockHeld reports that another process holds the lock.
var errLockHeld = errors.New("schema migration lock is held")

// migrationLock is a held lock; release gives it up.
type migrationLock struct {
	conn  driver.Conn
	o     Options
	owner string
	stop  chan struct{}
	done  chan struct{}
	log   *slog.Logger
}

// lockOwner names this process in the lock's comment, for an operator who
// finds the lock and for the heartbeat's changing value.
func lockOwner() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s pid %d %s", pidSpace(), os.Getpid(), hex.EncodeToString(b[:]))
}

// pidSpace names where this process's pids mean something: the host name
// and the pid namespace (containers on the host's network share its name,
// not its pids).
func pidSpace() string {
	host, _ := os.Hostname()
	ns, _ := os.Readlink("/proc/self/ns/pid") // "pid:[4026531836]"
	return unsafeCommentChars.ReplaceAllString(host+"~"+ns, "_")
}

// holderGoneHere reports a holder that ran in this pid space as a process
// that no longer exists (killed mid-migration, say): no need to wait
// lockStaleAfter for it. Only asked once its comment has missed two
// heartbeats, as a second guard for a live holder.
func holderGoneHere(comment string) bool {
	var space string
	var pid int
	if _, err := fmt.Sscanf(comment, "%s pid %d", &space, &pid); err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	here := pidSpace()
	if !strings.Contains(space, "~") {
		// A lock of a release before pid namespaces were named: its
		// host name alone.
		here, _, _ = strings.Cut(here, "~")
	}
	return space == here && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// unsafeCommentChars may not appear in the comment, which DDL cannot bind
// as a parameter.
var unsafeCommentChars = regexp.MustCompile(`[^A-Za-z0-9._:-]`)

// acquireLock waits until this process holds the migration lock or ctx
// ends.
func acquireLock(ctx context.Context, conn driver.Conn, o Options, log *slog.Logger) (*migrationLock, error) {
	if log == nil {
		log = slog.Default()
	}
	l := &migrationLock{conn: conn, o: o, owner: lockOwner(), stop: make(chan struct{}), done: make(chan struct{}), log: log}
	var (
		seen      string    // the holder's comment when last read
		seenSince time.Time // when it last changed
		logged    bool
	)
	for {
		err := l.tryCreate(ctx)
		if err == nil {
			go l.heartbeat()
			return l, nil
		}
		if !errors.Is(err, errLockHeld) {
			return nil, err
		}
		comment, err := l.comment(ctx)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		switch {
		case comment != seen:
			seen, seenSince = comment, now
			if !logged && comment != "" {
				log.Info("waiting for another process to finish migrating the schema", "holder", comment, "database", o.Database)
				logged = true
			}
		case comment != "" && (now.Sub(seenSince) >= lockStaleAfter ||
			now.Sub(seenSince) > 2*lockHeartbeat+time.Second && holderGoneHere(comment)):
			// The holder stopped beating: it died mid-migration. Every
			// statement is safe to rerun, so taking over is safe.
			// Another waiter may have broken it first and now hold a new
			// one: drop only what is still the silent holder's. (Between
			// this read and the drop a fresh lock could still be lost;
			// then two processes migrate at once, which is what the lock
			// prevents in the common case, not a guarantee.)
			if again, err := l.comment(ctx); err != nil || again != comment {
				continue
			}
			log.Warn("breaking a stale schema migration lock", "holder", comment, "silent_for", now.Sub(seenSince).Round(time.Second), "database", o.Database)
			if err := l.drop(ctx); err != nil {
				return nil, err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the schema migration lock (held by %q): %w", comment, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}

// tryCreate creates the lock table: errLockHeld if it exists already.
func (l *migrationLock) tryCreate(ctx context.Context) error {
	err := l.conn.Exec(ctx, l.createStatement())
	if err == nil {
		return nil
	}
	if isAlreadyExists(err) {
		return errLockHeld
	}
	return fmt.Errorf("create the schema migration lock: %w", err)
}

// isAlreadyExists reports whether err is ClickHouse's TABLE_ALREADY_EXISTS:
// an exception over the native protocol, its text over HTTP.
func isAlreadyExists(err error) bool {
	const code = 57
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return ex.Code == code
	}
	return strings.Contains(err.Error(), "TABLE_ALREADY_EXISTS")
}

// The lock's statements run ON CLUSTER on a cluster, so that processes
// talking to different nodes see one lock.
func (l *migrationLock) createStatement() string {
	return fmt.Sprintf("CREATE TABLE %s (Owner String) ENGINE = Null COMMENT '%s'", l.table(), l.beat(0))
}

func (l *migrationLock) heartbeatStatement(n int) string {
	return fmt.Sprintf("ALTER TABLE %s MODIFY COMMENT '%s'", l.table(), l.beat(n))
}

func (l *migrationLock) dropStatement() string {
	return fmt.Sprintf("DROP TABLE IF EXISTS %s SYNC", l.table())
}

// table is the lock table's name, with ON CLUSTER on a cluster.
func (l *migrationLock) table() string {
	return l.o.Table(MigrationLockTable) + " " + tmplData{Options: l.o}.OnCluster()
}

// beat is the comment for heartbeat n.
func (l *migrationLock) beat(n int) string { return fmt.Sprintf("%s beat %d", l.owner, n) }

// comment is the lock's current comment, "" if no one holds it.
func (l *migrationLock) comment(ctx context.Context) (string, error) {
	rows, err := l.conn.Query(ctx, "SELECT comment FROM system.tables WHERE database = ? AND name = ?", l.o.Database, MigrationLockTable)
	if err != nil {
		return "", fmt.Errorf("read the schema migration lock: %w", err)
	}
	defer rows.Close()
	var c string
	for rows.Next() {
		if err := rows.Scan(&c); err != nil {
			return "", err
		}
	}
	return c, rows.Err()
}

func (l *migrationLock) drop(ctx context.Context) error {
	if err := l.conn.Exec(ctx, l.dropStatement()); err != nil {
		return fmt.Errorf("drop the schema migration lock: %w", err)
	}
	return nil
}

// heartbeat rewrites the lock's comment until release.
func (l *migrationLock) heartbeat() {
	defer close(l.done)
	t := time.NewTicker(lockHeartbeat)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), lockHeartbeat)
		if err := l.conn.Exec(ctx, l.heartbeatStatement(n)); err != nil {
			l.log.Warn("schema migration lock heartbeat failed", "err", err)
		}
		cancel()
	}
}

// release stops the heartbeat and drops the lock, even when ctx has ended.
func (l *migrationLock) release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return l.drop(ctx)
}
