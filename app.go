package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/wailsapp/wails/v2/pkg/options"
	wruntime "github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/viettts-studio/studio/backend/buildinfo"
	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/backend/system"
)

// App is the thin bound struct between the window and the backend: it turns GUI calls into backend
// calls and backend events into Wails events. It holds no state of its own beyond the Wails context
// and the services main built for it.
type App struct {
	ctx  context.Context
	dirs home.Dirs
	log  *slog.Logger
}

// NewApp returns the bound app over the given data folders.
func NewApp(dirs home.Dirs, log *slog.Logger) *App { return &App{dirs: dirs, log: log} }

func (a *App) startup(ctx context.Context) {
	a.ctx = ctx
	a.log.Info("window started", "data", a.dirs.Config)
}

func (a *App) shutdown(ctx context.Context) { a.log.Info("window closed") }

// onSecondInstance brings the running window to the front when the app is launched again.
func (a *App) onSecondInstance(data options.SecondInstanceData) {
	if a.ctx == nil {
		return
	}
	a.log.Info("second launch: focusing the window", "args", data.Args)
	wruntime.WindowUnminimise(a.ctx)
	wruntime.Show(a.ctx)
}

// Status is what the status bar shows.
type Status struct {
	Version         string `json:"version"`
	Provider        string `json:"provider"`
	ORTVersion      string `json:"ortVersion"`
	Instances       int    `json:"instances"`
	InstancesReason string `json:"instancesReason"`
	ModelInstalled  bool   `json:"modelInstalled"`
	DataDir         string `json:"dataDir"`
}

// Status reports the version, the execution provider, the pool size and the model.
func (a *App) Status() Status {
	r := system.Diagnose(a.dirs)
	s := Status{
		Version: buildinfo.Version, Provider: string(r.Selected), ORTVersion: r.ORT.Version,
		ModelInstalled: len(r.Model.Bundles) > 0, DataDir: a.dirs.Config,
	}
	if s.Provider == "" {
		s.Provider = "none"
	}
	s.Instances, s.InstancesReason = 1, fmt.Sprintf("CPU: %d cores", runtime.NumCPU())
	return s
}
