package frames

import (
	"slices"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/coldtrace"
)

// ServiceMap builds the nodes and edges frames of Grafana's Node Graph
// panel from the service call graph. functions names the services whose
// spans come from functions; they are marked as such.
func ServiceMap(d coldtrace.Dependencies, functions map[string]bool) (nodes, edges *data.Frame) {
	type stats struct{ calls, errors uint64 }
	received := map[string]*stats{}
	var names []string
	add := func(name string) *stats {
		s, ok := received[name]
		if !ok {
			s = &stats{}
			received[name] = s
			names = append(names, name)
		}
		return s
	}
	n := len(d.Edges)
	var (
		edgeID, source, target = make([]string, n), make([]string, n), make([]string, n)
		calls, errs            = make([]float64, n), make([]float64, n)
		p95                    = make([]float64, n)
	)
	for i, e := range d.Edges {
		add(e.Parent)
		s := add(e.Child)
		s.calls += e.Calls
		s.errors += e.Errors
		edgeID[i], source[i], target[i] = e.Parent+"->"+e.Child, e.Parent, e.Child
		calls[i], errs[i], p95[i] = float64(e.Calls), float64(e.Errors), e.P95DurationNano/1e6
	}
	slices.Sort(names)

	m := len(names)
	var (
		id, title, subtitle     = make([]string, m), make([]string, m), make([]string, m)
		mainStat, secondaryStat = make([]float64, m), make([]float64, m)
		arcOK, arcErr           = make([]float64, m), make([]float64, m)
	)
	for i, name := range names {
		s := received[name]
		id[i], title[i] = name, name
		subtitle[i] = "service"
		if functions[name] {
			subtitle[i] = "function"
		}
		mainStat[i], secondaryStat[i] = float64(s.calls), float64(s.errors)
		// Nodes that only call others have no received calls: draw them
		// all-success rather than leave the arc empty.
		arcOK[i] = 1
		if s.calls > 0 {
			arcErr[i] = float64(s.errors) / float64(s.calls)
			arcOK[i] = 1 - arcErr[i]
		}
	}
	meta := &data.FrameMeta{PreferredVisualization: data.VisTypeNodeGraph}
	nodes = data.NewFrame("nodes",
		data.NewField("id", nil, id),
		data.NewField("title", nil, title),
		data.NewField("subtitle", nil, subtitle),
		data.NewField("mainstat", nil, mainStat).SetConfig(&data.FieldConfig{DisplayName: "Calls received"}),
		data.NewField("secondarystat", nil, secondaryStat).SetConfig(&data.FieldConfig{DisplayName: "Errors"}),
		data.NewField("arc__success", nil, arcOK).SetConfig(&data.FieldConfig{DisplayName: "Success", Color: map[string]any{"mode": "fixed", "fixedColor": "green"}}),
		data.NewField("arc__errors", nil, arcErr).SetConfig(&data.FieldConfig{DisplayName: "Errors", Color: map[string]any{"mode": "fixed", "fixedColor": "red"}}),
	)
	nodes.Meta = meta
	edges = data.NewFrame("edges",
		data.NewField("id", nil, edgeID),
		data.NewField("source", nil, source),
		data.NewField("target", nil, target),
		data.NewField("mainstat", nil, calls).SetConfig(&data.FieldConfig{DisplayName: "Calls"}),
		data.NewField("secondarystat", nil, p95).SetConfig(&data.FieldConfig{DisplayName: "p95", Unit: unitMs}),
		data.NewField("detail__errors", nil, errs).SetConfig(&data.FieldConfig{DisplayName: "Errors"}),
	)
	edges.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeNodeGraph}
	return nodes, edges
}
