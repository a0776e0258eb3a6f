// VietTTS Studio turns documents into Vietnamese narration on the user's own GPU.
//
// With no arguments the binary opens the app; with a subcommand it runs the same backend headless
// (see `viettts-studio help`).
package main

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"

	"github.com/viettts-studio/studio/backend/audio/player"
	"github.com/viettts-studio/studio/backend/cli"
	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/backend/logging"
	"github.com/viettts-studio/studio/backend/studio"
)

//go:embed all:frontend/dist
var assets embed.FS

// appID names the single-instance lock: a second launch focuses the running window.
const appID = "io.github.viettts-studio.studio"

func main() {
	if len(os.Args) > 1 {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	if err := runGUI(); err != nil {
		fmt.Fprintf(os.Stderr, "viettts-studio: %v\n", err)
		os.Exit(1)
	}
}

// startEngines (re)starts synthesis with the installed model and the stored device settings.
func startEngines(ctx context.Context, st *studio.Studio, dirs home.Dirs, log *slog.Logger) error {
	set, err := st.EngineSettingsOf(ctx)
	if err != nil {
		return err
	}
	engines, err := studio.VietTTSEngines(ctx, dirs, set, log)
	if err != nil {
		return err
	}
	return st.SetEngines(ctx, engines)
}

func runGUI() error {
	dirs, err := home.Resolve()
	if err != nil {
		return err
	}
	if err := dirs.Ensure(); err != nil {
		return err
	}
	log, closeLog, err := logging.Open(dirs.Logs, os.Stderr, slog.LevelInfo)
	if err != nil {
		log.Warn("logging to stderr only", "err", err)
	}
	defer closeLog.Close()

	ctx := context.Background()
	st, err := studio.Open(ctx, dirs, studio.Engines{}, log)
	if err != nil {
		return err
	}
	var app *App
	pl := player.New(player.Options{Logger: log, OnEvent: func(e player.Event) {
		if app != nil {
			app.onPlayer(e)
		}
	}})
	app = NewApp(dirs, st, pl, log)
	app.startSynthesis()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := st.Close(ctx); err != nil {
			log.Warn("closing the backend", "err", err)
		}
		pl.Close()
	}()
	return wails.Run(&options.App{
		Title:     "VietTTS Studio",
		Width:     1280,
		Height:    820,
		MinWidth:  900,
		MinHeight: 600,
		AssetServer: &assetserver.Options{
			Assets: assets,
		},
		BackgroundColour: &options.RGBA{R: 24, G: 26, B: 31, A: 255},
		OnStartup:        app.startup,
		OnShutdown:       app.shutdown,
		SingleInstanceLock: &options.SingleInstanceLock{
			UniqueId:               appID,
			OnSecondInstanceLaunch: app.onSecondInstance,
		},
		DragAndDrop: &options.DragAndDrop{
			EnableFileDrop:     true,
			DisableWebViewDrop: true,
		},
		Linux: &linux.Options{ProgramName: "viettts-studio"},
		Bind:  []any{app},
	})
}
