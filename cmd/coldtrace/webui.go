package main

import "github.com/coldtrace/coldtrace/ui"

// The web UI, embedded from ui/dist (or a page saying how to build it).
func init() { webUI = ui.Handler }
