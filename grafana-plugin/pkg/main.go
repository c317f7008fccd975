// Command gpx_coldtrace is the Coldtrace data source's backend, started by
// Grafana's plugin manager over hashicorp/go-plugin.
package main

import (
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/plugin"
)

func main() {
	// Manage serves Grafana until it stops the process, creating one
	// instance per data source and replacing it when its settings change.
	if err := datasource.Manage(plugin.PluginID, plugin.NewDatasource, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error(err.Error())
		os.Exit(1)
	}
}
