package viettts

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/ort"
)

func newEngine(t testing.TB, dir string) *Engine {
	t.Helper()
	e, err := New(context.Background(), dir, Options{Session: ort.SessionConfig{Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestSynthesizedLengthFollowsTheSpeechTokenCount(t *testing.T) {
	e := newEngine(t, standinBundle(t))
	for _, text := range []string{"Xin chào.", "Hôm nay trời đẹp quá, chúng ta đi dạo nhé."} {
		a, err := e.Synthesize(t.Context(), inference.Request{ID: "s1", Text: text, Voice: "lan", Speed: 1, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		L := e.Tokenizer().CountTokens(text)
		if a.Tokens < 2*L || a.Tokens > 20*L {
			t.Errorf("%q: %d speech tokens for %d text tokens, want %d-%d", text, a.Tokens, L, 2*L, 20*L)
		}
		if want := int(float64(a.Tokens)*sampleRate/tokenRate/melHop) * melHop; len(a.Samples) != want {
			t.Errorf("%q: %d samples for %d tokens, want %d", text, len(a.Samples), a.Tokens, want)
		}
		for i, s := range a.Samples {
			if math.IsNaN(float64(s)) || math.Abs(float64(s)) > 1 {
				t.Fatalf("sample %d is %v", i, s)
			}
		}
		if a.Samples[0] != 0 || a.Samples[len(a.Samples)-1] != 0 {
			t.Error("segment does not start and end at zero (fades)")
		}
	}
}

func TestTheSameSeedGivesTheSameAudioAndAnotherSeedDoesNot(t *testing.T) {
	e := newEngine(t, standinBundle(t))
	req := inference.Request{ID: "s", Text: "Một hai ba bốn năm.", Voice: "minh", Speed: 1, Seed: 99}
	a, err := e.Synthesize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.Synthesize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Samples, b.Samples) {
		t.Error("same seed, different audio")
	}
	req.Seed = 100
	c, err := e.Synthesize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a.Samples, c.Samples) {
		t.Error("different seeds, same audio")
	}
}

func TestSpeedScalesTheMelBeforeTheVocoder(t *testing.T) {
	e := newEngine(t, standinBundle(t))
	req := inference.Request{ID: "s", Text: "Chậm thôi.", Voice: "lan", Speed: 1, Seed: 3}
	slow := req
	slow.Speed = 0.5
	a, err := e.Synthesize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.Synthesize(t.Context(), slow)
	if err != nil {
		t.Fatal(err)
	}
	if a.Tokens != b.Tokens {
		t.Fatalf("speed changed the token count: %d vs %d", a.Tokens, b.Tokens)
	}
	frames := melFrames(a.Tokens)
	if want := int(float64(frames)/0.5) * melHop; len(b.Samples) != want {
		t.Errorf("speed 0.5: %d samples, want %d", len(b.Samples), want)
	}
}

func TestBadRequestsAreBadInput(t *testing.T) {
	e := newEngine(t, standinBundle(t))
	for name, req := range map[string]inference.Request{
		"empty text":    {Text: "  ", Voice: "lan"},
		"unknown voice": {Text: "Chào.", Voice: "nobody"},
		"too fast":      {Text: "Chào.", Voice: "lan", Speed: 3},
		"too long":      {Text: strings.Repeat("Một câu rất dài. ", 60), Voice: "lan"},
	} {
		_, err := e.Synthesize(t.Context(), req)
		if inference.Classify(err) != inference.ClassBadInput {
			t.Errorf("%s: err %v (class %v), want bad input", name, err, inference.Classify(err))
		}
	}
	_, err := e.Synthesize(t.Context(), inference.Request{Text: "Chào.", Voice: "nobody"})
	if !strings.Contains(err.Error(), "lan") {
		t.Errorf("unknown voice error does not list the voices: %v", err)
	}
}

// cancelAfter is a context that cancels itself on the n-th check of Err, i.e. in the middle of a
// segment, without timing.
type cancelAfter struct {
	context.Context
	cancel context.CancelFunc
	left   atomic.Int32
}

func (c *cancelAfter) Err() error {
	if c.left.Add(-1) == 0 {
		c.cancel()
	}
	return c.Context.Err()
}

func TestCancelStopsASegmentMidway(t *testing.T) {
	e := newEngine(t, standinBundle(t))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := &cancelAfter{Context: ctx, cancel: cancel}
	c.left.Store(10) // a few decode steps in
	_, err := e.Synthesize(c, inference.Request{ID: "c", Text: "Hủy giữa chừng.", Voice: "lan", Seed: 1})
	if !errors.Is(err, context.Canceled) || inference.Classify(err) != inference.ClassCanceled {
		t.Fatalf("err = %v, want canceled", err)
	}
	if e.Stats().DecodeSteps == 0 || e.Stats().Vocodes != 0 {
		t.Errorf("canceled after %d decode steps and %d vocoder runs; want some steps and no vocoder", e.Stats().DecodeSteps, e.Stats().Vocodes)
	}
	// The engine is still usable.
	if _, err := e.Synthesize(t.Context(), inference.Request{ID: "d", Text: "Tiếp tục.", Voice: "lan", Seed: 1}); err != nil {
		t.Fatalf("after a cancel: %v", err)
	}
}

func TestMissingOrDamagedBundlesFailWithAClearError(t *testing.T) {
	dir := standinBundle(t)
	if _, err := New(t.Context(), filepath.Join(dir, "nope"), Options{}); !errors.Is(err, bundle.ErrNotInstalled) {
		t.Errorf("missing bundle: %v", err)
	}
	est := filepath.Join(dir, "flow_estimator.onnx")
	good, _ := os.ReadFile(est)
	os.Remove(est)
	_, err := New(t.Context(), dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "flow_estimator.onnx") || !strings.Contains(err.Error(), "reinstall") {
		t.Errorf("missing graph: %v", err)
	}
	// Same size, damaged content: Open's size check passes, ONNX Runtime refuses it.
	bad := append([]byte(nil), good...)
	copy(bad[len(bad)/3:], make([]byte, 4096))
	copy(bad, "garbage")
	os.WriteFile(est, bad, 0o644)
	_, err = New(t.Context(), dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "flow_estimator.onnx") {
		t.Errorf("corrupt graph: %v", err)
	}
	// A file of another size: the manifest check catches it before ONNX Runtime.
	os.WriteFile(est, good[:len(good)/2], 0o644)
	_, err = New(t.Context(), dir, Options{})
	if !errors.Is(err, bundle.ErrCorrupt) {
		t.Errorf("truncated graph: %v, want ErrCorrupt from the size check", err)
	}
	// A sound graph with the wrong contract (the vocoder where the estimator belongs).
	swapped := standinBundleWith(t, map[string]string{bundle.GraphFlowEstimator: bundle.GraphHiFT})
	_, err = New(t.Context(), swapped, Options{})
	if err == nil || !strings.Contains(err.Error(), "flow_estimator.onnx") || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("wrong graph: %v", err)
	}
	if err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("wrong graph: %v", err)
	}
}

func BenchmarkSynthesizeStandIn(b *testing.B) {
	e := newEngine(b, standinBundle(b))
	req := inference.Request{ID: "b", Text: "Hôm nay trời đẹp quá.", Voice: "lan", Speed: 1, Seed: 1}
	for b.Loop() {
		if _, err := e.Synthesize(b.Context(), req); err != nil {
			b.Fatal(err)
		}
	}
	s := e.Stats()
	b.ReportMetric(float64(s.Host())/float64(s.Wall)*100, "host%")
}

func TestFactoryBuildsIndependentEngines(t *testing.T) {
	f := Factory(standinBundle(t), Options{Session: ort.SessionConfig{Threads: 1}})
	a, err := f(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := f(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	req := inference.Request{ID: "f", Text: "Hai bản sao.", Voice: "lan", Seed: 4}
	var wg sync.WaitGroup
	out := make([]inference.Audio, 2)
	errs := make([]error, 2)
	for i, e := range []inference.Engine{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = e.Synthesize(t.Context(), req)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	if !slices.Equal(out[0].Samples, out[1].Samples) {
		t.Error("two instances gave different audio for the same request")
	}
}
