package main

import (
	"context"

	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/runtime"
)

// App is the thin bound struct between the window and the backend: it turns GUI calls into backend
// calls and backend events into Wails events. It holds no state of its own beyond the Wails context.
type App struct {
	ctx context.Context
}

// NewApp returns the bound app.
func NewApp() *App { return &App{} }

func (a *App) startup(ctx context.Context) { a.ctx = ctx }

func (a *App) shutdown(ctx context.Context) {}

// onSecondInstance brings the running window to the front when the app is launched again.
func (a *App) onSecondInstance(data options.SecondInstanceData) {
	if a.ctx == nil {
		return
	}
	runtime.WindowUnminimise(a.ctx)
	runtime.Show(a.ctx)
}
