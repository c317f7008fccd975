// Package models holds the data source's configuration as Grafana stores
// it (jsonData and secureJsonData).
package models

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/coldtrace"
)

// SecureAPIToken is the secureJsonData key of the API token.
const SecureAPIToken = "apiToken"

// DefaultTimeout bounds one API call when the settings give none.
const DefaultTimeout = 30 * time.Second

// PluginSettings is the data source's jsonData plus its decrypted secrets.
type PluginSettings struct {
	// URL is Coldtrace's base URL, e.g. http://coldtrace:7070. The data
	// source's top-level URL is used when it is empty.
	URL string `json:"url"`
	// Tenant is sent as X-Scope-OrgID; empty reads the default tenant.
	Tenant string `json:"tenant"`
	// TimeoutSeconds bounds one API call (default 30).
	TimeoutSeconds int `json:"timeoutSeconds"`

	// APIToken comes from secureJsonData and is never sent to browsers.
	APIToken string `json:"-"`
}

// LoadPluginSettings reads and validates a data source's settings.
func LoadPluginSettings(source backend.DataSourceInstanceSettings) (PluginSettings, error) {
	var s PluginSettings
	if len(source.JSONData) > 0 {
		if err := json.Unmarshal(source.JSONData, &s); err != nil {
			return s, fmt.Errorf("the data source's JSON settings are malformed: %w", err)
		}
	}
	if s.URL == "" {
		s.URL = source.URL
	}
	s.APIToken = source.DecryptedSecureJSONData[SecureAPIToken]
	return s, s.Validate()
}

// Validate reports settings the plugin cannot work with.
func (s PluginSettings) Validate() error {
	if err := s.Client().Validate(); err != nil {
		return err
	}
	if s.TimeoutSeconds < 0 || s.TimeoutSeconds > 600 {
		return fmt.Errorf("timeoutSeconds %d: use 1 to 600 (0 = %s)", s.TimeoutSeconds, DefaultTimeout)
	}
	return nil
}

// Timeout bounds one API call.
func (s PluginSettings) Timeout() time.Duration {
	if s.TimeoutSeconds == 0 {
		return DefaultTimeout
	}
	return time.Duration(s.TimeoutSeconds) * time.Second
}

// Client is the API client configuration these settings describe.
func (s PluginSettings) Client() coldtrace.Config {
	return coldtrace.Config{URL: s.URL, Token: s.APIToken, Tenant: s.Tenant}
}
