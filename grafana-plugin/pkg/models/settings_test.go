package models

import (
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

func TestLoadPluginSettings(t *testing.T) {
	s, err := LoadPluginSettings(backend.DataSourceInstanceSettings{
		JSONData:                []byte(`{"url":"http://coldtrace:7070","tenant":"acme","timeoutSeconds":5}`),
		DecryptedSecureJSONData: map[string]string{"apiToken": "s3cret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client()
	if c.URL != "http://coldtrace:7070" || c.Tenant != "acme" || c.Token != "s3cret" || s.Timeout() != 5*time.Second {
		t.Errorf("settings = %+v", s)
	}
	s, err = LoadPluginSettings(backend.DataSourceInstanceSettings{URL: "https://ct.example.org/prefix"})
	if err != nil || s.URL != "https://ct.example.org/prefix" || s.Timeout() != DefaultTimeout {
		t.Errorf("fallback to the top-level URL: %+v %v", s, err)
	}
	for jsonData, text := range map[string]string{
		`{`:                        "malformed",
		`{}`:                       "not set",
		`{"url":"coldtrace:7070"}`: "http://",
		`{"url":"http://"}`:        "no host",
		`{"url":"http://h/?x=1"}`:  "query",
		`{"url":"http://h","timeoutSeconds":601}`: "timeoutSeconds",
	} {
		_, err := LoadPluginSettings(backend.DataSourceInstanceSettings{JSONData: []byte(jsonData)})
		if err == nil || !strings.Contains(err.Error(), text) {
			t.Errorf("%s: error %v, want %q", jsonData, err, text)
		}
	}
}
