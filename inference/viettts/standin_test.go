package viettts

import (
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/compiler"
	"github.com/viettts-studio/studio/inference/graph"
	"github.com/viettts-studio/studio/inference/ort"
	"github.com/viettts-studio/studio/inference/viettts/standin"
)

// Stand-in graphs: the exact I/O contract of MODEL.md §5.4/§6.4/§7 (names, dtypes, dynamic dims)
// with a few random matrices inside instead of the networks. They exercise everything the runtime
// does with the graphs (shapes, the cache, sampling, the solver, noise, cancellation) in
// milliseconds, independent of the compiler. Tests that need the real architecture use the
// compiler's tiny random bundles.

const (
	standinLayers = 2
	standinHeads  = 2
	standinRow    = 8
	textVocab     = 60515
)

func build(t testing.TB, b *graph.Builder, path string) {
	t.Helper()
	data, err := b.Build()
	if err != nil {
		t.Fatalf("build %s: %v", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func standinPrefill(t testing.TB, path string, rng *rand.Rand) {
	b := graph.New("llm_prefill")
	text := b.Input("text", graph.Int64, graph.N(1), graph.Sym("L"))
	spk := b.Input("spk_emb", graph.Float, graph.N(1), graph.N(xvectorDim))
	h := b.ReduceMean(b.Gather(standin.RandomInitializer(b, "emb", rng, 1, textVocab, 4), text, 0), false, 1)
	h = b.Add(h, b.MatMul(spk, standin.RandomInitializer(b, "spk", rng, 0.1, xvectorDim, 4)))
	logits := b.MatMul(h, standin.RandomInitializer(b, "head", rng, 2, 4, eosToken+1))
	b.Output(b.LogSoftmax(logits, 1), "logp")
	row := standin.RandomInitializer(b, "kvrow", rng, 1, standinLayers, standinHeads, 1, standinRow)
	k := b.Add(b.DimOf(text, 1), b.Ints(promptExtra))
	shape := b.Concat(0, b.Ints(standinLayers, standinHeads), k, b.Ints(standinRow))
	b.Output(b.Add(b.Expand(row, shape), b.ReduceSum(h, false, 0, 1)), "kv")
	build(t, b, path)
}

func standinDecode(t testing.TB, path string, rng *rand.Rand) {
	b := graph.New("llm_decode")
	tok := b.Input("token", graph.Int64, graph.N(1), graph.N(1))
	b.Input("past_len", graph.Int64, graph.N(1))
	var past []graph.Value
	for l := range standinLayers {
		for _, name := range []string{compiler.PastKeyInput(l), compiler.PastValueInput(l)} {
			past = append(past, b.Input(name, graph.Float, graph.N(standinHeads), graph.Sym("C"), graph.N(standinRow/2)))
		}
	}
	e := b.ReshapeTo(b.Gather(standin.RandomInitializer(b, "emb", rng, 1, eosToken+1, 4), tok, 0), 1, 4)
	p := b.Mul(b.ReduceMean(b.Concat(0, past...), false, 0, 1, 2), b.Scalar(graph.Float, 0.1))
	b.Output(b.LogSoftmax(b.Add(b.MatMul(e, standin.RandomInitializer(b, "head", rng, 2, 4, eosToken+1)), p), 1), "logp")
	rows := b.MatMul(e, standin.RandomInitializer(b, "kv", rng, 1, 4, standinLayers*standinHeads*standinRow))
	b.Output(b.ReshapeTo(rows, standinLayers, standinHeads, 1, standinRow), "new_kv")
	build(t, b, path)
}

func standinEncoder(t testing.TB, path string, rng *rand.Rand) {
	b := graph.New("flow_encoder")
	tok := b.Input("token", graph.Int64, graph.N(1), graph.Sym("S"))
	interp := b.Input("interp", graph.Float, graph.Sym("S"), graph.Sym("T"))
	spk := b.Input("spk_emb", graph.Float, graph.N(1), graph.N(xvectorDim))
	h := b.Transpose(b.Gather(standin.RandomInitializer(b, "emb", rng, 1, speechTokens, melBins), tok, 0), 0, 2, 1)
	b.Output(b.MatMul(h, interp), "mu")
	b.Output(b.MatMul(spk, standin.RandomInitializer(b, "spk", rng, 0.1, xvectorDim, melBins)), "spks")
	build(t, b, path)
}

func standinEstimator(t testing.TB, path string) {
	b := graph.New("flow_estimator")
	x := b.Input("x", graph.Float, graph.Sym("B"), graph.N(melBins), graph.Sym("T"))
	mask := b.Input("mask", graph.Float, graph.Sym("B"), graph.N(1), graph.Sym("T"))
	mu := b.Input("mu", graph.Float, graph.Sym("B"), graph.N(melBins), graph.Sym("T"))
	tt := b.Input("t", graph.Float, graph.Sym("B"))
	spks := b.Input("spks", graph.Float, graph.Sym("B"), graph.N(melBins))
	cond := b.Input("cond", graph.Float, graph.Sym("B"), graph.N(melBins), graph.Sym("T"))
	s := b.Add(b.Mul(x, b.Scalar(graph.Float, 0.5)), mu)
	s = b.Add(s, b.Mul(cond, b.Scalar(graph.Float, 0.3)))
	s = b.Add(s, b.Unsqueeze(spks, 2))
	s = b.Add(s, b.ReshapeTo(tt, -1, 1, 1))
	b.Output(b.Mul(b.Sub(b.Tanh(s), x), mask), "estimator_out")
	build(t, b, path)
}

func standinHiFT(t testing.TB, path string, rng *rand.Rand) {
	b := graph.New("hift")
	mel := b.Input("mel", graph.Float, graph.N(1), graph.N(melBins), graph.Sym("T"))
	phase := b.Input("phase_noise", graph.Float, graph.N(1), graph.N(1), graph.N(9))
	sine := b.Input("sine_noise", graph.Float, graph.N(1), graph.Sym("N"), graph.N(9))
	m := b.MatMul(b.Transpose(mel, 0, 2, 1), standin.RandomInitializer(b, "up", rng, 0.1, melBins, melHop))
	m = b.ReshapeTo(m, 1, -1)
	n := b.Mul(b.ReduceSum(sine, false, 2), b.Scalar(graph.Float, 0.01))
	n = b.Add(n, b.Mul(b.ReduceSum(phase, false, 0, 1, 2), b.Scalar(graph.Float, 0.01)))
	b.Output(b.Mul(b.Tanh(b.Add(b.Mul(m, b.Scalar(graph.Float, 0.1)), n)), b.Scalar(graph.Float, 0.9)), "wav")
	build(t, b, path)
}

func standinSpeechEmbedding(t testing.TB, path string, rng *rand.Rand) {
	if err := standin.SpeechEmbedding(path, rng.Uint64()); err != nil {
		t.Fatal(err)
	}
}

func standinSpeechTokenizer(t testing.TB, path string, rng *rand.Rand) {
	if err := standin.SpeechTokenizer(path, rng.Uint64()); err != nil {
		t.Fatal(err)
	}
}

// standinBundle writes a bundle (through bundle.Writer, with its manifest) of stand-in graphs, the
// real tokenizer ranks and two voices into a temporary folder and returns it. It skips the test
// where ONNX Runtime or the ranks are missing.
func standinBundle(t testing.TB) string {
	t.Helper()
	return standinBundleWith(t, nil)
}

// standinBundleWith is standinBundle with some graphs replaced: swap[name] names the graph whose
// stand-in is written under name.
func standinBundleWith(t testing.TB, swap map[string]string) string {
	t.Helper()
	if err := ort.Init(""); err != nil {
		t.Skipf("ONNX Runtime not available (%v): run tools/setup.sh ort", err)
	}
	src := t.TempDir()
	ranks := filepath.Join(src, "ranks.tiktoken")
	copyRanks(t, ranks)
	rng := rand.New(rand.NewPCG(42, 42))
	graphs := []struct {
		name string
		make func(path string)
	}{
		{bundle.GraphLLMPrefill, func(p string) { standinPrefill(t, p, rng) }},
		{bundle.GraphLLMDecode, func(p string) { standinDecode(t, p, rng) }},
		{bundle.GraphFlowEncoder, func(p string) { standinEncoder(t, p, rng) }},
		{bundle.GraphFlowEstimator, func(p string) { standinEstimator(t, p) }},
		{bundle.GraphHiFT, func(p string) { standinHiFT(t, p, rng) }},
		{bundle.GraphSpeakerEmbed, func(p string) { standinSpeechEmbedding(t, p, rng) }},
		{bundle.GraphSpeechTokenize, func(p string) { standinSpeechTokenizer(t, p, rng) }},
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	w, err := bundle.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range graphs {
		g.make(filepath.Join(src, g.name+".onnx"))
	}
	for _, g := range graphs {
		from := g.name
		if s, ok := swap[g.name]; ok {
			from = s
		}
		if _, err := w.CopyFile(t.Context(), filepath.Join(src, from+".onnx"), g.name+".onnx", "", g.name, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.CopyFile(t.Context(), ranks, "tokenizer.tiktoken", bundle.RoleTokenizer, "", nil); err != nil {
		t.Fatal(err)
	}
	m := &bundle.Manifest{ModelID: "stand-in", Compiler: "test", Random: true, License: "none", Tokenizer: "tokenizer.tiktoken", Dims: []byte("{}")}
	for i, id := range []string{"lan", "minh"} {
		if err := WriteVoice(src, testVoice(id, uint64(i+10))); err != nil {
			t.Fatal(err)
		}
		rel := "voices/" + id + VoiceExt
		if _, err := w.CopyFile(t.Context(), filepath.Join(src, id+VoiceExt), rel, bundle.RoleVoice, "", nil); err != nil {
			t.Fatal(err)
		}
		m.Voices = append(m.Voices, bundle.Voice{ID: id, Path: rel})
	}
	if err := w.Commit(m); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyRanks copies VietTTS's tokenizer ranks (tools/fixtures/features/fetch_tokenizer.sh puts
// them in .cache/tokenizer) to dst.
func copyRanks(t testing.TB, dst string) {
	t.Helper()
	src := os.Getenv("VIETTTS_TOKENIZER_RANKS")
	if src == "" {
		wd, _ := os.Getwd()
		for dir := wd; ; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, ".cache", "tokenizer", "multilingual.tiktoken")
			if _, err := os.Stat(p); err == nil {
				src = p
				break
			}
			if filepath.Dir(dir) == dir {
				t.Skip("tokenizer ranks not found: run tools/fixtures/features/fetch_tokenizer.sh (make test does)")
			}
		}
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
}
