package studio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/backend/home"
)

func TestPreferencesDefaultsPersistAndValidate(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	s, _ := open(t)
	ctx := t.Context()
	p, err := s.Preferences(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := Preferences{Language: "vi", Theme: "dark", Provider: "auto", Instances: "default"}
	if p != want {
		t.Fatalf("defaults = %+v, want %+v", p, want)
	}

	out := filepath.Join(t.TempDir(), "Sách nói")
	changed, err := s.SetPreferences(ctx, Preferences{Language: "en", Theme: "light", OutputDir: out, Provider: "cpu", Instances: "2"})
	if err != nil {
		t.Fatal(err)
	}
	if !changed {
		t.Error("provider and instances changed but SetPreferences says the device did not")
	}
	if st, err := os.Stat(out); err != nil || !st.IsDir() {
		t.Errorf("output folder not created: %v", err)
	}
	got, err := s.Preferences(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Preferences{Language: "en", Theme: "light", OutputDir: out, Provider: "cpu", Instances: "2"}); got != want {
		t.Fatalf("after saving = %+v, want %+v", got, want)
	}
	es, err := s.EngineSettingsOf(ctx)
	if err != nil || es.Provider != "cpu" || es.Instances != "2" {
		t.Errorf("engine settings = %+v, %v", es, err)
	}

	got.Theme = "dark"
	if changed, err := s.SetPreferences(ctx, got); err != nil || changed {
		t.Errorf("changing only the theme: device changed %v, err %v", changed, err)
	}

	for _, bad := range []Preferences{
		{Language: "fr", Theme: "dark", Provider: "auto", Instances: "default"},
		{Language: "vi", Theme: "pink", Provider: "auto", Instances: "default"},
		{Language: "vi", Theme: "dark", Provider: "tpu", Instances: "default"},
		{Language: "vi", Theme: "dark", Provider: "auto", Instances: "0"},
		{Language: "vi", Theme: "dark", Provider: "auto", Instances: "default", OutputDir: "relative/folder"},
		{Language: "vi", Theme: "dark", Provider: "auto", Instances: "default", Voice: "không-có"},
	} {
		if _, err := s.SetPreferences(ctx, bad); err == nil {
			t.Errorf("SetPreferences(%+v) accepted an invalid value", bad)
		} else if !strings.Contains(err.Error(), "use") && !strings.Contains(err.Error(), "choose") && !strings.Contains(err.Error(), "install") {
			t.Errorf("error %q does not say what to do", err)
		}
	}
	if after, _ := s.Preferences(ctx); after.Theme != "dark" || after.Language != "en" {
		t.Errorf("a rejected change altered the settings: %+v", after)
	}
}

func TestInstanceStates(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	s, _ := open(t)
	states := s.InstanceStates()
	if len(states) != 2 {
		t.Fatalf("states of a 2-instance pool: %v", states)
	}
	for _, st := range states {
		if st != "loading" && st != "idle" && st != "busy" {
			t.Errorf("instance state %q", st)
		}
	}
	t.Setenv(home.EnvHome, t.TempDir())
	dirs, _ := home.Resolve()
	off, err := Open(t.Context(), dirs, Engines{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close(t.Context())
	if got := off.InstanceStates(); got != nil {
		t.Errorf("states without synthesis: %v", got)
	}
}
