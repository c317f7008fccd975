package chdb

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Exception is an error reported by the engine, with ClickHouse's code.
type Exception struct {
	Code    int
	Name    string
	Message string
}

func (e *Exception) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("Code: %d. DB::Exception: %s. (%s)", e.Code, e.Message, e.Name)
	}
	return fmt.Sprintf("Code: %d. DB::Exception: %s", e.Code, e.Message)
}

var exceptionText = regexp.MustCompile(`(?s)^Code: (\d+)\. (?:DB::Exception: )?(.*?)(?: \(([A-Z_0-9]+)\))?(?: \(version [^)]*\))?\s*$`)

// ParseException turns the engine's error text into an Exception.
func ParseException(msg string) *Exception {
	msg = strings.TrimSpace(msg)
	if m := exceptionText.FindStringSubmatch(msg); m != nil {
		code, _ := strconv.Atoi(m[1])
		text := strings.TrimSuffix(strings.TrimSpace(m[2]), ".")
		return &Exception{Code: code, Name: m[3], Message: text}
	}
	return &Exception{Code: 1001, Name: "STD_EXCEPTION", Message: msg}
}
