package studio

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/inference"
)

// Every sentence inference.ResolveSize writes has a code, with its numbers as parameters.
func TestEveryPoolSizeReasonHasACode(t *testing.T) {
	gpu := func(free uint64, ok bool) func() (uint64, uint64, bool) {
		return func() (uint64, uint64, bool) { return free, 80 << 30, ok }
	}
	cases := []struct {
		setting string
		hw      inference.Hardware
		code    string
		params  map[string]string
	}{
		{"default", inference.Hardware{Cores: 16, ThreadsPerInstance: 4}, "cpu-default", map[string]string{"n": "2", "cores": "16", "threads": "4"}},
		{"", inference.Hardware{CUDA: true}, "cuda-default", nil},
		{"auto", inference.Hardware{Cores: 12, ThreadsPerInstance: 3}, "cpu-auto", map[string]string{"cores": "12", "threads": "3"}},
		{"auto", inference.Hardware{CUDA: true}, "cuda-auto-unknown", nil},
		{"auto", inference.Hardware{CUDA: true, FreeMemory: gpu(20<<30, true)}, "cuda-auto-estimate",
			map[string]string{"n": "6", "free": "20.00 GiB", "total": "80.00 GiB", "each": "3.17 GiB", "reserve": "1.00 GiB"}},
		{"8", inference.Hardware{Cores: 4, ThreadsPerInstance: 2}, "cpu-capped", map[string]string{"asked": "8", "n": "2", "cores": "4", "threads": "2"}},
		{"3", inference.Hardware{CUDA: true}, "as-set", map[string]string{"n": "3"}},
	}
	for _, c := range cases {
		_, text, err := inference.ResolveSize(c.setting, c.hw)
		if err != nil {
			t.Fatal(err)
		}
		r := ReasonOf(text + " (cpu)")
		want := map[string]string{"provider": "cpu"}
		maps.Copy(want, c.params)
		if r.Code != c.code || !maps.Equal(r.Params, want) || r.Text != text+" (cpu)" {
			t.Errorf("%q: got %+v, want %s %v", text, r, c.code, want)
		}
	}
}

// The sentences the GPU measurement, the pool and a missing model write have codes too; a
// sentence it does not know keeps only its text.
func TestMeasuredAndRetiredReasonsHaveCodes(t *testing.T) {
	note := "one instance took 3.25 GiB at its peak on the longest segment; 70.1 GiB free, 1.0 GiB kept in reserve"
	mem := map[string]string{"peak": "3.25", "free": "70.1", "reserve": "1.0", "provider": "cuda"}
	with := func(m map[string]string) map[string]string { out := maps.Clone(mem); maps.Copy(out, m); return out }
	cases := []struct {
		text, code string
		params     map[string]string
	}{
		{fmt.Sprintf("4 instance(s) asked, 3 fit: %s (cuda)", note), "cuda-capped", with(map[string]string{"asked": "4", "n": "3"})},
		{fmt.Sprintf("2 instances, the default on a CUDA GPU (%s) (cuda)", note), "cuda-default-measured", mem},
		{fmt.Sprintf("3 instance(s), as set (%s) (cuda)", note), "as-set-measured", with(map[string]string{"n": "3"})},
		{fmt.Sprintf("auto: 5 instance(s): the most allowed (5); %s (cuda)", note), "cuda-auto-max", with(map[string]string{"n": "5", "max": "5"})},
		{fmt.Sprintf("auto: 6 instance(s): %s (cuda)", note), "cuda-auto-memory", with(map[string]string{"n": "6"})},
		{"auto: 2 instance(s): instance 3 ran out of memory while loading (cuda)", "cuda-auto-oom", map[string]string{"n": "2", "instance": "3", "provider": "cuda"}},
		{"auto: 3 instance(s): instance 4 added 2% throughput (3.10 → 3.16 s of audio per second), less than 10% (cuda)", "cuda-auto-gain",
			map[string]string{"n": "3", "instance": "4", "gain": "2", "from": "3.10", "to": "3.16", "min": "10", "provider": "cuda"}},
		{"instance 1 could not be started; running 1 instance(s)", "instance-failed", map[string]string{"instance": "1", "n": "1"}},
		{ErrNoEngines.Error(), "no-model", nil},
		{"something new", "", nil},
	}
	for _, c := range cases {
		r := ReasonOf(c.text)
		if r.Code != c.code || !maps.Equal(r.Params, c.params) || r.Text != c.text {
			t.Errorf("%q: got %+v, want %s %v", c.text, r, c.code, c.params)
		}
	}
}

// The window translates every code: both locales have a "reason.<code>" string for each.
func TestEveryReasonCodeIsTranslated(t *testing.T) {
	for _, loc := range []string{"vi", "en"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "frontend", "src", "locales", loc+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var strs map[string]string
		if err := json.Unmarshal(b, &strs); err != nil {
			t.Fatal(err)
		}
		for _, f := range reasonForms {
			s, ok := strs["reason."+f.code]
			if !ok {
				t.Errorf("%s.json has no reason.%s", loc, f.code)
			}
			for _, p := range f.params {
				if !strings.Contains(s, "{"+p+"}") {
					t.Errorf("%s.json reason.%s does not show {%s}", loc, f.code, p)
				}
			}
		}
	}
}
