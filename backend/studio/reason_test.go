package studio

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/viettts-studio/studio/backend/audio/export"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/ort"
)

// The window translates every reason the backend gives: both locales have a "reason.<code>" string
// for each code of every catalog (the pool's, the export formats', the providers'), showing exactly the parameters
// its template names.
func TestEveryReasonCodeIsTranslated(t *testing.T) {
	placeholder := regexp.MustCompile(`\{([a-z]+)\}`)
	names := func(s string) []string {
		var out []string
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
		slices.Sort(out)
		return out
	}
	for _, loc := range []string{"vi", "en"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "frontend", "src", "locales", loc+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var strs map[string]string
		if err := json.Unmarshal(b, &strs); err != nil {
			t.Fatal(err)
		}
		for code, template := range catalogs() {
			s, ok := strs["reason."+code]
			if !ok {
				t.Errorf("%s.json has no reason.%s (%q)", loc, code, template)
				continue
			}
			if got, want := names(s), names(template); !slices.Equal(got, want) {
				t.Errorf("%s.json reason.%s shows %v, the reason has %v", loc, code, got, want)
			}
		}
	}
}

// catalogs merges every reason catalog; a code in two would be ambiguous in the window.
func catalogs() inference.ReasonTemplates {
	all := inference.ReasonTemplates{}
	for _, c := range []inference.ReasonTemplates{inference.PoolReasons, export.FormatReasons, ort.ProviderReasons} {
		for code, t := range c {
			if _, dup := all[code]; dup {
				panic("reason code " + code + " is in two catalogs")
			}
			all[code] = t
		}
	}
	return all
}

// The engines' reason carries the provider, and a studio without a model says so with a code.
func TestTheNoModelReasonHasACode(t *testing.T) {
	var s Studio
	running, n, r := s.Synthesizing()
	if running || n != 0 || r.Code != "no-model" || r.Text != ErrNoEngines.Error() {
		t.Fatalf("%v %d %+v", running, n, r)
	}
}
