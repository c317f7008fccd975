package plugin_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/models"
	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/plugin"
)

// moduleRoot is the plugin module's directory, from this package's.
var moduleRoot = filepath.Join("..", "..")

type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			AllValue   string          `json:"allValue"`
			Datasource json.RawMessage `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Title      string            `json:"title"`
		Type       string            `json:"type"`
		Datasource *datasourceRef    `json:"datasource"`
		Targets    []json.RawMessage `json:"targets"`
	} `json:"panels"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(moduleRoot, "src", "dashboards", "serverless-overview.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	return d
}

// TestServerlessOverviewDashboard runs every query of the bundled
// dashboard, as Grafana would with the function variable on "All",
// against the seeded Coldtrace, and checks each panel gets data.
func TestServerlessOverviewDashboard(t *testing.T) {
	dash := readDashboard(t)
	if dash.Title != "Serverless overview" || dash.UID == "" {
		t.Errorf("title %q uid %q", dash.Title, dash.UID)
	}
	allValue := ""
	for _, v := range dash.Templating.List {
		if v.Name == "function" {
			var vq struct{ Kind string }
			if err := json.Unmarshal(v.Query, &vq); err != nil || vq.Kind != "functions" {
				t.Errorf("function variable query %s: %v", v.Query, err)
			}
			allValue = v.AllValue
		}
	}
	if allValue != models.AllFunctions {
		t.Errorf("the function variable's All value is %q, want %q so the backend reads it as every function", allValue, models.AllFunctions)
	}

	d := newDatasource(t, defaultSettings())
	var types []string
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		types = append(types, p.Type)
		if p.Datasource == nil || p.Datasource.Type != plugin.PluginID || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: data source %+v, want the $datasource variable of type %s", p.Title, p.Datasource, plugin.PluginID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			// Grafana's interpolation of the function variable on "All".
			raw := json.RawMessage(strings.ReplaceAll(string(target), "$function", allValue))
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			r := mustQuery(t, d, m)
			rows := 0
			for _, f := range r.Frames {
				rows += f.Rows()
			}
			if rows == 0 {
				t.Errorf("panel %q: no data from %s", p.Title, target)
			}
		}
	}
	for _, want := range []string{"timeseries", "bargauge", "nodeGraph", "table"} {
		if !slices.Contains(types, want) {
			t.Errorf("no %s panel among %v", want, types)
		}
	}
}

// TestPluginJSONAndProvisioning checks that plugin.json bundles the
// dashboard and that the provisioning files name this plugin.
func TestPluginJSONAndProvisioning(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(moduleRoot, "src", "plugin.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pj struct {
		ID         string `json:"id"`
		Backend    bool   `json:"backend"`
		Alerting   bool   `json:"alerting"`
		Executable string `json:"executable"`
		Includes   []struct {
			Type, Name, Path string
		} `json:"includes"`
	}
	if err := json.Unmarshal(raw, &pj); err != nil {
		t.Fatal(err)
	}
	if pj.ID != plugin.PluginID || !pj.Backend || !pj.Alerting || pj.Executable == "" {
		t.Errorf("plugin.json = %+v", pj)
	}
	found := false
	for _, inc := range pj.Includes {
		if inc.Type == "dashboard" && inc.Name == "Serverless overview" {
			found = true
			if _, err := os.Stat(filepath.Join(moduleRoot, "src", inc.Path)); err != nil {
				t.Errorf("included dashboard: %v", err)
			}
		}
	}
	if !found {
		t.Errorf("plugin.json does not include the Serverless overview dashboard: %+v", pj.Includes)
	}

	raw, err = os.ReadFile(filepath.Join(moduleRoot, "provisioning", "datasources", "coldtrace.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ds struct {
		Datasources []struct {
			Type     string         `yaml:"type"`
			UID      string         `yaml:"uid"`
			JSONData map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(raw, &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != plugin.PluginID || ds.Datasources[0].JSONData["url"] == nil {
		t.Errorf("provisioned data sources = %+v", ds.Datasources)
	}

	raw, err = os.ReadFile(filepath.Join(moduleRoot, "provisioning", "dashboards", "coldtrace.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var dp struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(raw, &dp); err != nil {
		t.Fatal(err)
	}
	if len(dp.Providers) != 1 || dp.Providers[0].Options.Path != "/var/lib/grafana/plugins/"+plugin.PluginID+"/dashboards" {
		t.Errorf("dashboard providers = %+v", dp.Providers)
	}
}
