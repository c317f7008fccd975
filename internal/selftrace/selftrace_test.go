package selftrace

import (
	"context"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string // "" valid
	}{
		{Config{}, ""},
		{Config{Enabled: true, Endpoint: "http://127.0.0.1:4318", SampleRatio: 1}, ""},
		{Config{Enabled: true, Endpoint: "https://collector:4318/", SampleRatio: 0.01}, ""},
		{Config{Enabled: true, SampleRatio: 1}, "--self-tracing-endpoint"},
		{Config{Enabled: true, Endpoint: "collector:4318", SampleRatio: 1}, "not an http:// or https:// URL"},
		{Config{Enabled: true, Endpoint: "grpc://collector:4317", SampleRatio: 1}, "not an http:// or https:// URL"},
		{Config{Enabled: true, Endpoint: "http://c:4318", SampleRatio: 0}, "sample ratio"},
		{Config{Enabled: true, Endpoint: "http://c:4318", SampleRatio: 1.5}, "sample ratio"},
	} {
		err := tc.cfg.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestDisabledMakesNoSpans(t *testing.T) {
	tr, err := Start(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.TracerProvider().Tracer("t").Start(context.Background(), "x")
	if span.IsRecording() || tr.Enabled() {
		t.Fatal("disabled self-tracing records spans")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
