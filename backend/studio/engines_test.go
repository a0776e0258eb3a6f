package studio

import (
	"context"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/tinymodel"
)

// The real pipeline on a tiny random-weight bundle, through the real ONNX Runtime: a document is
// imported, segmented with the model's tokenizer, narrated by two instances, and every segment
// gets audio of the length its tokens imply.
func TestTheStudioNarratesWithTheVietTTSPipeline(t *testing.T) {
	bundleDir, err := tinymodel.Shared(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(home.EnvHome, t.TempDir())
	dirs, _ := home.Resolve()
	e, err := VietTTSEngines(t.Context(), dirs, EngineSettings{Bundle: bundleDir, Instances: "2", Provider: "cpu"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.Size != 2 || e.DefaultVoice != "lan" || !strings.HasPrefix(e.ModelID, "random") || e.Reason.Params["provider"] != "cpu" || !strings.HasSuffix(e.Reason.Text, " (cpu)") || e.Reason.Code != "as-set" {
		t.Fatalf("engines %+v", e)
	}
	s, err := Open(t.Context(), dirs, e, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	imp, err := s.Import(t.Context(), writeDoc(t), ImportOptions{Queue: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, g := range segments(t, s, imp.Project.ID) {
		if g.State != store.StateDone {
			t.Fatalf("segment %d %q: %s %s", g.ID, g.Spoken, g.State, g.Error)
		}
		r, _, _ := s.Store().RenderOf(t.Context(), g.RenderHash)
		pcm, err := s.Cache().Load(r.Path)
		if err != nil {
			t.Fatal(err)
		}
		// N speech tokens make int(N·22050/25/256)·256 samples (MODEL.md §6.2, §7).
		if want := r.Tokens * 22050 / 25 / 256 * 256; len(pcm) != want || r.Tokens == 0 {
			t.Errorf("segment %d: %d samples for %d tokens, want %d", g.ID, len(pcm), r.Tokens, want)
		}
		if r.Seconds != float64(len(pcm))/inference.SampleRate {
			t.Errorf("segment %d: stored %v s for %d samples", g.ID, r.Seconds, len(pcm))
		}
	}
}

func TestAMissingBundleSaysHowToInstallOne(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	dirs, _ := home.Resolve()
	_, err := VietTTSEngines(t.Context(), dirs, EngineSettings{}, nil)
	if err == nil || !strings.Contains(err.Error(), "model") {
		t.Fatalf("err = %v", err)
	}
}
