//go:build !windows

package export

import "os/exec"

// hideConsole does nothing outside Windows: a child process there has no window of its own.
func hideConsole(*exec.Cmd) {}
