package export

import (
	"os/exec"
	"syscall"
)

// createNoWindow is CREATE_NO_WINDOW: the GUI build is a windowsgui program, so without it every
// ffmpeg it starts (the -encoders probe, each Opus, M4B or MP3 export) would flash a console window.
const createNoWindow = 0x08000000

// hideConsole keeps a child process from opening a console window.
func hideConsole(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{HideWindow: true, CreationFlags: createNoWindow}
}
