package schedule

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	// A Sunday.
	from := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	cases := map[string]time.Time{
		"rate(1 minute)":          from.Add(time.Minute),
		"rate(5 minutes)":         from.Add(5 * time.Minute),
		"rate(2 hours)":           time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), // periods count from the epoch
		"rate(1 day)":             time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
		"rate(7 minutes)":         time.Date(2026, 11, 22, 10, 36, 0, 0, time.UTC), // 4,274,628 × 7 minutes
		"rate(30 seconds)":        from.Add(30 * time.Second),
		"cron(0 12 * * ? *)":      time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC),
		"cron(15 10 ? * 2 *)":     time.Date(2026, 11, 23, 10, 15, 0, 0, time.UTC), // 2 = Monday in EventBridge
		"cron(0 8 ? * 1,7 *)":     time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC),   // Sunday or Saturday
		"cron(0 9 ? * MON-FRI *)": time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
		"cron(0/20 * * * ? *)":    time.Date(2026, 11, 22, 10, 40, 0, 0, time.UTC),
		"cron(0 12 * * * *)":      time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), // every day, both fields *
		"*/15 * * * *":            time.Date(2026, 11, 22, 10, 45, 0, 0, time.UTC),
		"0 0 * * 1":               time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), // standard cron: 1 = Monday
		"@hourly":                 time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC),
		"@every 2h":               time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), // as rate(2 hours)
		"@every 90s":              time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC).Add(90 * time.Second),
	}
	for expr, want := range cases {
		s, err := Parse(expr)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		if got := s.Next(from); !got.Equal(want) {
			t.Errorf("%s: next %s, want %s", expr, got, want)
		}
	}
}

// A rate, and @every, keep their firing times whenever they are set again
// (a deploy, a restart): they are not postponed by each.
func TestRateIsNotPostponedBySettingItAgain(t *testing.T) {
	for _, expr := range []string{"rate(20 seconds)", "@every 20s"} {
		first, err := Parse(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		at := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
		want := first.Next(at)
		for _, later := range []time.Duration{time.Second, 14 * time.Second, 19*time.Second + 999*time.Millisecond} {
			again, _ := Parse(expr)
			if got := again.Next(at.Add(later)); !got.Equal(want) {
				t.Errorf("%s set again %v later: next %s, want %s", expr, later, got, want)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	for expr, msg := range map[string]string{
		"rate(0 minutes)":        "positive whole number",
		"rate(5 weeks)":          "rate unit",
		"rate(minutes)":          "a number and a unit",
		"cron(0 12 * * ?)":       "six fields",
		"cron(0 12 * * ? 2030)":  "only * is supported",
		"cron(0 12 L * ? *)":     "not supported",
		"cron(0 12 ? * 8 *)":     "1-7",
		"every tuesday":          "five-field cron",
		"cron(0 12 ? * 6#3 *)":   "not supported",
		"cron(99 12 * * ? *)":    "",
		"cron(0 12 1 * 1 *)":     "exactly one of them must be ?",
		"cron(0 12 ? * ? *)":     "exactly one of them must be ?",
		"0 0 31 2 *":             "never fires",
		"cron(0 0 30 2 ? *)":     "never fires",
		"61 * * * *":             "",
		"rate(1.5 hours)":        "positive whole number",
		"cron(0 12 * * ? * ) x ": "",
	} {
		_, err := Parse(expr)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: got %v, want an error saying %q", expr, err, msg)
		}
	}
}
