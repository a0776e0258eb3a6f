package studio

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Keys of the window's own settings in the store's settings table (the device settings are the
// store's SettingProvider and SettingInstances).
const (
	SettingLanguage  = "language"
	SettingTheme     = "theme"
	SettingOutputDir = "output_dir"
	SettingVoice     = "voice"
)

// Languages and Themes are the values the language and theme settings take; the first is the
// default.
var (
	Languages = []string{"vi", "en"}
	Themes    = []string{"dark", "light"}
)

// Preferences are the settings the user changes in the Settings view.
type Preferences struct {
	Language  string `json:"language"`
	Theme     string `json:"theme"`
	OutputDir string `json:"outputDir"` // where exports go without asking; empty: ask each time
	Provider  string `json:"provider"`  // auto, cuda, directml, cpu
	Instances string `json:"instances"` // default, auto, or a count
	Voice     string `json:"voice"`     // the voice new documents are read with; empty: the model's first
}

// Preferences reads the stored preferences; a value never set reads as its default.
func (s *Studio) Preferences(ctx context.Context) (Preferences, error) {
	st := s.store.Settings()
	var p Preferences
	var err error
	if p.Provider, err = st.Provider(ctx); err != nil {
		return p, err
	}
	if p.Instances, err = st.Instances(ctx); err != nil {
		return p, err
	}
	vals, err := s.readSettings(ctx, SettingLanguage, SettingTheme, SettingOutputDir, SettingVoice)
	if err != nil {
		return p, err
	}
	p.Language = oneOf(vals[SettingLanguage], Languages)
	p.Theme = oneOf(vals[SettingTheme], Themes)
	p.OutputDir, p.Voice = vals[SettingOutputDir], vals[SettingVoice]
	return p, nil
}

// SetPreferences validates p and stores it. It reports whether the device settings changed, so
// the caller knows to restart synthesis (see EngineSettingsOf).
func (s *Studio) SetPreferences(ctx context.Context, p Preferences) (deviceChanged bool, err error) {
	old, err := s.Preferences(ctx)
	if err != nil {
		return false, err
	}
	if !contains(Languages, p.Language) {
		return false, fmt.Errorf("language %q is not offered: use one of %s", p.Language, strings.Join(Languages, ", "))
	}
	if !contains(Themes, p.Theme) {
		return false, fmt.Errorf("theme %q is not offered: use one of %s", p.Theme, strings.Join(Themes, ", "))
	}
	out := strings.TrimSpace(norm.NFC.String(p.OutputDir))
	if out != "" {
		if !filepath.IsAbs(out) {
			return false, fmt.Errorf("output folder %q is not a full path: choose a folder such as %s", out, filepath.Join(os.TempDir(), "audiobooks"))
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			return false, fmt.Errorf("cannot use %s as the output folder: %w (choose a folder you can write to)", out, err)
		}
	}
	voice := strings.TrimSpace(norm.NFC.String(p.Voice))
	if voice != "" && voice != old.Voice {
		if err := s.knownVoice(voice); err != nil {
			return false, err
		}
	}
	st := s.store.Settings()
	if err := st.SetProvider(ctx, p.Provider); err != nil {
		return false, err
	}
	if err := st.SetInstances(ctx, p.Instances); err != nil {
		return false, err
	}
	if err := s.writeSettings(ctx, map[string]string{SettingLanguage: p.Language, SettingTheme: p.Theme, SettingOutputDir: out, SettingVoice: voice}); err != nil {
		return false, err
	}
	now, err := s.Preferences(ctx)
	if err != nil {
		return false, err
	}
	return now.Provider != old.Provider || now.Instances != old.Instances, nil
}

func (s *Studio) knownVoice(id string) error {
	vs, err := s.Voices()
	if err != nil {
		return err
	}
	var ids []string
	for _, v := range vs {
		if v.ID == id {
			return nil
		}
		ids = append(ids, v.ID)
	}
	if len(ids) == 0 {
		return fmt.Errorf("voice %q is not installed: install the model first (Settings → Model)", id)
	}
	return fmt.Errorf("voice %q is not installed: choose one of %s, or add it in Voices", id, strings.Join(ids, ", "))
}

// EngineSettingsOf returns the engine settings the stored preferences ask for.
func (s *Studio) EngineSettingsOf(ctx context.Context) (EngineSettings, error) {
	p, err := s.Preferences(ctx)
	if err != nil {
		return EngineSettings{}, err
	}
	return EngineSettings{Provider: p.Provider, Instances: p.Instances}, nil
}

// readSettings reads keys from the settings table in one transaction; absent keys map to "".
func (s *Studio) readSettings(ctx context.Context, keys ...string) (map[string]string, error) {
	tx, err := s.store.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		var v string
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, k).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("reading setting %s: %w", k, err)
		}
		out[k] = v
	}
	return out, tx.Commit()
}

// writeSettings stores every key of vals in one transaction.
func (s *Studio) writeSettings(ctx context.Context, vals map[string]string) error {
	tx, err := s.store.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for k, v := range vals {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
			return fmt.Errorf("saving setting %s: %w", k, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("saving settings: %w", err)
	}
	return nil
}

func oneOf(v string, allowed []string) string {
	if contains(allowed, v) {
		return v
	}
	return allowed[0]
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
