package viettts

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/compiler"
	"github.com/viettts-studio/studio/inference/graph/graphtest"
	"github.com/viettts-studio/studio/inference/ort"
)

var (
	tinyOnce sync.Once
	tinyDir  string
	tinyErr  error
	tinyTmp  string
)

// TestMain removes the shared tiny bundle after the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if tinyTmp != "" {
		os.RemoveAll(tinyTmp)
	}
	os.Exit(code)
}

// TinyBundle compiles (once per test binary) a random-weight bundle with the compiler's TinyDims:
// the real VietTTS graph architecture at toy width, with the real tokenizer ranks, two voices and
// stand-in front-end graphs for cloning.
func tinyBundle(t testing.TB) string {
	t.Helper()
	if err := ort.Init(""); err != nil {
		t.Skipf("ONNX Runtime not available (%v): run tools/setup.sh ort", err)
	}
	probe := filepath.Join(t.TempDir(), "ranks")
	copyRanks(t, probe) // skips the test when the ranks are missing, before the shared build
	tinyOnce.Do(func() {
		tinyTmp, tinyErr = os.MkdirTemp("", "viettts-tiny-")
		if tinyErr != nil {
			return
		}
		src := filepath.Join(tinyTmp, "src")
		os.MkdirAll(filepath.Join(src, "voices"), 0o755)
		if tinyErr = os.Rename(probe, filepath.Join(src, compiler.FileTokenizer)); tinyErr != nil {
			return
		}
		rng := rand.New(rand.NewPCG(5, 5))
		standinSpeechTokenizer(t, filepath.Join(src, compiler.FileSpeechTokenizer), rng)
		standinSpeechEmbedding(t, filepath.Join(src, compiler.FileSpeechEmbedding), rng)
		for i, id := range []string{"lan", "minh"} {
			if tinyErr = WriteVoice(filepath.Join(src, "voices"), testVoice(id, uint64(i+20))); tinyErr != nil {
				return
			}
		}
		tinyDir = filepath.Join(tinyTmp, "bundle")
		_, tinyErr = compiler.CompileRandom(t.Context(), compiler.TinyDims(), 1, tinyDir, compiler.Source{Dir: src}, compiler.Options{NoFP16: true})
	})
	if tinyErr != nil {
		t.Fatalf("compile the tiny bundle: %v", tinyErr)
	}
	return tinyDir
}

// newTinyEngine opens the tiny bundle with segments capped at 60 speech tokens (random weights
// rarely stop on their own; the cap keeps the tests quick).
func newTinyEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := New(t.Context(), tinyBundle(t), Options{Session: ort.SessionConfig{Threads: 1}, MaxSpeechTokens: 60})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestTinyCompiledBundleSpeaksReproducibly(t *testing.T) {
	e := newTinyEngine(t)
	req := inference.Request{ID: "t", Text: "Xin chào Việt Nam.", Voice: "lan", Speed: 1, Seed: 11}
	a, err := e.Synthesize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	L := e.Tokenizer().CountTokens(req.Text)
	if a.Tokens < min(2*L, 60) || a.Tokens > min(20*L, 60) {
		t.Errorf("%d speech tokens for %d text tokens", a.Tokens, L)
	}
	if want := melFrames(a.Tokens) * melHop; len(a.Samples) != want {
		t.Errorf("%d samples for %d tokens, want %d", len(a.Samples), a.Tokens, want)
	}
	var energy float64
	for _, s := range a.Samples {
		if math.IsNaN(float64(s)) || math.Abs(float64(s)) > 1 {
			t.Fatalf("sample %v out of range", s)
		}
		energy += float64(s) * float64(s)
	}
	if energy == 0 {
		t.Error("the tiny model produced silence")
	}
	b, err := e.Synthesize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Samples, b.Samples) {
		t.Error("same seed, different audio")
	}
	req.Seed = 12
	c, err := e.Synthesize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a.Samples, c.Samples) {
		t.Error("another seed, same audio")
	}
	s := e.Stats()
	if s.DecodeSteps == 0 || s.EstimatorSteps != 3*eulerSteps || s.Vocodes != 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestTinyBundleClonesAVoice(t *testing.T) {
	dir := tinyBundle(t)
	c, err := OpenCloner(dir, ort.SessionConfig{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	x, rate, err := DecodeClip(makeClip(t, "me.flac", 4, 44100, false))
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Clone(t.Context(), x, rate, "me", "Tôi")
	if err != nil {
		t.Fatal(err)
	}
	e := newTinyEngine(t)
	e.AddVoice(v)
	if _, err := e.Synthesize(t.Context(), inference.Request{Text: "Giọng mới.", Voice: "me", Seed: 2}); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkSynthesizeTiny(b *testing.B) {
	e := newEngine(b, tinyBundle(b))
	req := inference.Request{ID: "b", Text: "Hôm nay trời đẹp quá.", Voice: "lan", Speed: 1, Seed: 1}
	for b.Loop() {
		if _, err := e.Synthesize(b.Context(), req); err != nil {
			b.Fatal(err)
		}
	}
	s := e.Stats()
	b.ReportMetric(float64(s.Host())/float64(s.Wall)*100, "host%")
	b.ReportMetric(s.RTF(), "rtf")
}

// The engine's cache (room in chunks of cacheChunk, rows written in place, laid out again when the
// room runs out) feeds llm_decode what a plain cache would: every step's log-probabilities match
// a reference loop over the same graph files that keeps prefill's (layers, heads, K, 2·dk) rows
// and passes them with no room to spare, across a growth of the room.
func TestEngineCacheFeedsDecodeAsAPlainCache(t *testing.T) {
	e := newTinyEngine(t)
	var trace [][]float32
	e.stepTrace = func(lp []float32) { trace = append(trace, slices.Clone(lp)) }
	ids := e.Tokenizer().Encode("Xin chào Việt Nam.")
	voice := e.voices["lan"]
	tokens, err := e.generate(t.Context(), ids, voice.XVector, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	k := len(ids) + promptExtra
	if k+len(tokens)-1 <= cacheChunk {
		t.Fatalf("%d positions never outgrow the first room of %d", k+len(tokens)-1, cacheChunk)
	}
	if len(trace) != len(tokens) {
		t.Fatalf("%d traced steps for %d tokens", len(trace), len(tokens))
	}

	open := func(name string) *graphtest.Session {
		p, err := e.bundle.GraphPath(name)
		if err != nil {
			t.Fatal(err)
		}
		model, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return graphtest.Open(t, model)
	}
	prefill, decode := open(bundle.GraphLLMPrefill), open(bundle.GraphLLMDecode)
	text := make([]int64, len(ids))
	for i, id := range ids {
		text[i] = int64(id)
	}
	out := prefill.MustRun(t, map[string]graphtest.Tensor{
		"text":    graphtest.I64([]int64{1, int64(len(ids))}, text),
		"spk_emb": graphtest.F32([]int64{1, int64(len(voice.XVector))}, voice.XVector),
	}, nil)
	logp, kv := out["logp"].F32, out["kv"].F32
	layers, heads, dk := e.layers, e.heads, e.headDim
	for step, tok := range tokens {
		if d := graphtest.MaxAbsDiff(trace[step], logp); d > 1e-4 {
			t.Fatalf("step %d (K = %d): the engine's log-probabilities differ from the plain cache's by %g", step, k, d)
		}
		if step == len(tokens)-1 {
			break
		}
		in := map[string]graphtest.Tensor{
			"token":    graphtest.I64([]int64{1, 1}, []int64{int64(tok)}),
			"past_len": graphtest.I64([]int64{1}, []int64{int64(k)}),
		}
		for l := range layers {
			keys, values := make([]float32, 0, heads*k*dk), make([]float32, 0, heads*k*dk)
			for h := range heads {
				for j := range k {
					row := kv[((l*heads+h)*k+j)*2*dk:]
					keys, values = append(keys, row[:dk]...), append(values, row[dk:2*dk]...)
				}
			}
			shape := []int64{int64(heads), int64(k), int64(dk)}
			in[compiler.PastKeyInput(l)], in[compiler.PastValueInput(l)] = graphtest.F32(shape, keys), graphtest.F32(shape, values)
		}
		out := decode.MustRun(t, in, nil)
		logp = out["logp"].F32
		rows := out["new_kv"].F32 // (layers, heads, 1, 2dk)
		next := make([]float32, 0, len(kv)+len(rows))
		for b := range layers * heads {
			next = append(next, kv[b*k*2*dk:(b+1)*k*2*dk]...)
			next = append(next, rows[b*2*dk:(b+1)*2*dk]...)
		}
		kv, k = next, k+1
	}
}
