//go:build tools

// Package tools pins the Wails CLI. `go install github.com/wailsapp/wails/v2/cmd/wails@v2.9.2`
// fails on Go 1.26 because its golang.org/x/tools does not compile; this module builds the same
// CLI with a newer x/tools (see tools/setup.sh).
package tools

import _ "github.com/wailsapp/wails/v2/cmd/wails"
