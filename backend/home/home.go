// Package home decides where VietTTS Studio keeps its data: the database and settings under the
// user config dir, models and renders under the user cache dir, and logs beside the database.
// VIETTTS_STUDIO_HOME overrides both roots (tests point it at a temp dir).
package home

import (
	"fmt"
	"os"
	"path/filepath"
)

// EnvHome is the environment variable that overrides every data location.
const EnvHome = "VIETTTS_STUDIO_HOME"

const appDir = "viettts-studio"

// Dirs are the data locations of one installation.
type Dirs struct {
	Config  string // database, settings
	Cache   string // models, renders
	Logs    string
	Models  string
	Renders string
	Voices  string // the user's cloned voices
}

// Model is the folder of the installed model bundle (see inference/bundle).
func (d Dirs) Model() string { return filepath.Join(d.Models, "viet-tts") }

// Database is the path of the SQLite job database.
func (d Dirs) Database() string { return filepath.Join(d.Config, "studio.db") }

// Resolve returns the data locations for this user, honouring VIETTTS_STUDIO_HOME. It creates
// nothing; call Ensure for that.
func Resolve() (Dirs, error) {
	if root := os.Getenv(EnvHome); root != "" {
		abs, err := filepath.Abs(root)
		if err != nil {
			return Dirs{}, fmt.Errorf("%s=%q is not a usable path: %w", EnvHome, root, err)
		}
		return layout(filepath.Join(abs, "config"), filepath.Join(abs, "cache")), nil
	}
	cfg, err := os.UserConfigDir()
	if err != nil {
		return Dirs{}, fmt.Errorf("no user config directory (set %s to choose one): %w", EnvHome, err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return Dirs{}, fmt.Errorf("no user cache directory (set %s to choose one): %w", EnvHome, err)
	}
	return layout(filepath.Join(cfg, appDir), filepath.Join(cache, appDir)), nil
}

func layout(config, cache string) Dirs {
	return Dirs{
		Config:  config,
		Cache:   cache,
		Logs:    filepath.Join(config, "logs"),
		Models:  filepath.Join(cache, "models"),
		Renders: filepath.Join(cache, "renders"),
		Voices:  filepath.Join(config, "voices"),
	}
}

// Ensure creates every directory of d.
func (d Dirs) Ensure() error {
	for _, p := range []string{d.Config, d.Cache, d.Logs, d.Models, d.Renders, d.Voices} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("cannot create data folder %s: %w (check permissions or set %s)", p, err, EnvHome)
		}
	}
	return nil
}
