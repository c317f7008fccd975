// Package schedule runs functions on a timer: EventBridge-style rate() and
// cron() expressions, or plain five-field cron, parsed by robfig/cron.
package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// awsCron parses the first five fields of an EventBridge cron
// expression (its year field is checked separately).
var awsCron = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// Parse accepts
//
//	rate(N unit)          unit: second(s), minute(s), hour(s), day(s)
//	cron(m h dom mon dow year)  EventBridge form: '?' allowed, dow 1-7 = SUN-SAT, year '*'
//	m h dom mon dow       standard cron, or a descriptor such as @hourly or @every 90s
//
// Seconds in rate() are a Coldtrace extension for demos and tests. @every
// D fires as a rate of D (whole seconds, at least one) does.
func Parse(expr string) (cron.Schedule, error) {
	s, err := parse(expr)
	if err != nil {
		return nil, err
	}
	// robfig/cron gives up after five years: a date that never comes
	// (February 30) would be a schedule that silently never fires.
	if s.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("schedule %q never fires: no such date in the next five years", expr)
	}
	return s, nil
}

func parse(expr string) (cron.Schedule, error) {
	e := strings.TrimSpace(expr)
	switch {
	case strings.HasPrefix(e, "rate(") && strings.HasSuffix(e, ")"):
		d, err := parseRate(e[len("rate(") : len(e)-1])
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %w", expr, err)
		}
		return everyFromEpoch(d), nil
	case strings.HasPrefix(e, "cron(") && strings.HasSuffix(e, ")"):
		s, err := parseAWSCron(e[len("cron(") : len(e)-1])
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %w", expr, err)
		}
		return s, nil
	default:
		s, err := cron.ParseStandard(e)
		if err != nil {
			return nil, fmt.Errorf("schedule %q: want rate(N unit), cron(...) or a five-field cron expression: %w", expr, err)
		}
		// @every D would count from every Set, as robfig's Every does, and
		// so be postponed by each deploy: it is a rate, and fires as one.
		if every, ok := s.(cron.ConstantDelaySchedule); ok {
			return everyFromEpoch(every.Delay), nil
		}
		return s, nil
	}
}

// everyFromEpoch fires at every multiple of its period since the Unix
// epoch. robfig's Every counts from whenever the schedule is set, and
// the scheduler sets it again at every deploy and every start: each one
// postponed the next firing by up to a period, so a daily rate deployed
// or restarted daily never fired. EventBridge counts from the rule's
// creation; the epoch needs nothing stored and keeps the times fixed
// (rate(1 day) fires at midnight UTC).
type everyFromEpoch time.Duration

func (e everyFromEpoch) Next(t time.Time) time.Time {
	d := int64(e)
	return time.Unix(0, (t.UnixNano()/d+1)*d).UTC()
}

func parseRate(s string) (time.Duration, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, fmt.Errorf("rate takes a number and a unit, e.g. rate(5 minutes)")
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("rate value %q: must be a positive whole number", f[0])
	}
	units := map[string]time.Duration{
		"second": time.Second, "seconds": time.Second,
		"minute": time.Minute, "minutes": time.Minute,
		"hour": time.Hour, "hours": time.Hour,
		"day": 24 * time.Hour, "days": 24 * time.Hour,
	}
	u, ok := units[f[1]]
	if !ok {
		return 0, fmt.Errorf("rate unit %q: use seconds, minutes, hours or days", f[1])
	}
	return time.Duration(n) * u, nil
}

func parseAWSCron(s string) (cron.Schedule, error) {
	f := strings.Fields(s)
	if len(f) != 6 {
		return nil, fmt.Errorf("cron() takes six fields: minutes hours day-of-month month day-of-week year")
	}
	if f[5] != "*" {
		return nil, fmt.Errorf("cron year field %q: only * is supported", f[5])
	}
	switch {
	case f[2] == "*" && f[4] == "*":
		// Every day either way; accepted before EventBridge's rule was
		// enforced, so stored schedules keep firing.
		f[4] = "?"
	case (f[2] == "?") == (f[4] == "?"):
		return nil, fmt.Errorf("cron day-of-month %q and day-of-week %q: exactly one of them must be ?, as in EventBridge", f[2], f[4])
	}
	for _, field := range f[:5] {
		if strings.ContainsAny(field, "LW#") && !isMonthOrDayName(field) {
			return nil, fmt.Errorf("cron field %q: L, W and # are not supported", field)
		}
	}
	dow, err := shiftDayOfWeek(f[4])
	if err != nil {
		return nil, err
	}
	return awsCron.Parse(strings.Join([]string{f[0], f[1], f[2], f[3], dow}, " "))
}

// isMonthOrDayName tells names such as WED or JUL (which contain W or L)
// from the L/W/# operators.
func isMonthOrDayName(field string) bool {
	for _, part := range strings.FieldsFunc(field, func(r rune) bool { return r == ',' || r == '-' || r == '/' }) {
		if _, err := strconv.Atoi(part); err == nil || part == "*" || part == "?" {
			continue
		}
		if len(part) != 3 || strings.ContainsAny(part, "#") {
			return false
		}
	}
	return true
}

// shiftDayOfWeek turns EventBridge's numeric days (1 = Sunday) into
// cron's (0 = Sunday); names and steps stay as they are.
func shiftDayOfWeek(field string) (string, error) {
	items := strings.Split(field, ",")
	for i, item := range items {
		rangePart, step, hasStep := strings.Cut(item, "/")
		bounds := strings.Split(rangePart, "-")
		for j, b := range bounds {
			n, err := strconv.Atoi(b)
			if err != nil {
				continue
			}
			if n < 1 || n > 7 {
				return "", fmt.Errorf("cron day-of-week %d: EventBridge days are 1-7 (1 = Sunday)", n)
			}
			bounds[j] = strconv.Itoa(n - 1)
		}
		items[i] = strings.Join(bounds, "-")
		if hasStep {
			items[i] += "/" + step
		}
	}
	return strings.Join(items, ","), nil
}
