package compiler

import (
	"bufio"
	"encoding/binary"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/inference/graph"
	"github.com/viettts-studio/studio/inference/graph/graphtest"
)

// The LLM specs for the full dimensions are exactly the keys, shapes and order of llm.pt
// (docs/checkpoint-keys/llm.tsv, copied into testdata).
func TestLLMSpecsMatchTheCheckpointKeys(t *testing.T) {
	f, err := os.Open("testdata/llm.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []ParamSpec
	total := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if cols[0] == "key" {
			continue
		}
		var shape []int
		for _, d := range strings.Split(cols[1], "x") {
			n, err := strconv.Atoi(d)
			if err != nil {
				t.Fatalf("bad shape in %q", sc.Text())
			}
			shape = append(shape, n)
		}
		numel, _ := strconv.Atoi(cols[3])
		total += numel
		want = append(want, ParamSpec{Name: cols[0], Shape: shape})
	}
	got := LLMSpecs(FullDims())
	if len(got) != len(want) {
		t.Fatalf("%d specs, llm.tsv has %d", len(got), len(want))
	}
	sum := 0
	for i := range want {
		if got[i].Name != want[i].Name || !slices.Equal(got[i].Shape, want[i].Shape) {
			t.Fatalf("spec %d is %s %v, llm.tsv has %s %v", i, got[i].Name, got[i].Shape, want[i].Name, want[i].Shape)
		}
		sum += got[i].Numel()
	}
	if sum != total || sum != 315146753 {
		t.Fatalf("%d parameters, llm.tsv has %d (MODEL.md: 315,146,753)", sum, total)
	}
}

// The positional table is ESPnet's: row maxLen−1−p holds sin/cos of p·10000^(−2i/d).
func TestRelPositionTable(t *testing.T) {
	const d, n = 8, 50
	tab := RelPositionTable(d, n)
	for _, p := range []int{0, 1, 7, 49} {
		row := tab[(n-1-p)*d : (n-p)*d]
		for i := range d / 2 {
			arg := float64(p) * math.Exp(-float64(2*i)*math.Log(10000)/d)
			if math.Abs(float64(row[2*i])-math.Sin(arg)) > 1e-5 || math.Abs(float64(row[2*i+1])-math.Cos(arg)) > 1e-5 {
				t.Fatalf("position %d pair %d: %v %v, want %v %v", p, i, row[2*i], row[2*i+1], math.Sin(arg), math.Cos(arg))
			}
		}
	}
}

// tinyLLM builds the tiny graphs from one set of random weights.
type tinyLLM struct {
	d       Dims
	prefill *graphtest.Session
	speech  *graphtest.Session // prefill with prompt_speech_token
	decode  *graphtest.Session
}

func newTinyLLM(t *testing.T, fp16 bool) *tinyLLM {
	t.Helper()
	d := TinyDims()
	w := RandomWeights(LLMSpecs(d), 42, nil)
	if err := CheckSpecs(w, LLMSpecs(d)); err != nil {
		t.Fatal(err)
	}
	tl := &tinyLLM{d: d}
	build := func(name string, promptSpeech bool) *graphtest.Session {
		g, err := newLLMGraph(name, w, d, fp16)
		if err != nil {
			t.Fatal(err)
		}
		g.promptSpeech = promptSpeech
		if name == LLMDecodeGraph {
			g.decode()
		} else {
			g.prefill()
		}
		keep := []string{"spk_emb", "logp"}
		if name == LLMDecodeGraph {
			keep = []string{"logp"}
		}
		var out bytesWriter
		if _, err := g.write(&out, keep); err != nil {
			t.Fatal(err)
		}
		return graphtest.Open(t, out.b)
	}
	tl.prefill = build(LLMPrefillGraph, false)
	tl.speech = build(LLMPrefillGraph, true)
	tl.decode = build(LLMDecodeGraph, false)
	return tl
}

type bytesWriter struct{ b []byte }

func (w *bytesWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func spkVector(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.Sin(float64(i)*0.7)) * 3
	}
	return v
}

func (tl *tinyLLM) kvShape(n int) []int64 {
	l := tl.d.LLM
	return []int64{int64(l.Blocks), int64(l.Heads), int64(n), int64(2 * l.HeadDim())}
}

func (tl *tinyLLM) runPrefill(t *testing.T, text []int64, half bool) (logp, kv []float32) {
	t.Helper()
	in := map[string]graphtest.Tensor{
		"text":    graphtest.I64([]int64{1, int64(len(text))}, text),
		"spk_emb": graphtest.F32([]int64{1, int64(tl.d.SpeakerEmbed)}, spkVector(tl.d.SpeakerEmbed)),
	}
	var shapes map[string][]int64
	if half {
		shapes = map[string][]int64{"kv": tl.kvShape(len(text) + 3)}
	}
	out := tl.prefill.MustRun(t, in, shapes)
	if got := out["logp"].Shape; !slices.Equal(got, []int64{1, int64(tl.d.SpeechTokens + 1)}) {
		t.Fatalf("logp shape %v", got)
	}
	if got := out["kv"].Shape; !slices.Equal(got, tl.kvShape(len(text)+3)) {
		t.Fatalf("kv shape %v, want %v", got, tl.kvShape(len(text)+3))
	}
	return out["logp"].F32, out["kv"].F32
}

func (tl *tinyLLM) runDecode(t *testing.T, token int64, past []float32, k int, half bool) (logp, row []float32) {
	t.Helper()
	// Room for three rows more than the cache holds, filled with zeros as the host keeps them:
	// the graph must ignore them.
	in := decodeInputs(tl.d, past, k, k+3)
	in["token"] = graphtest.I64([]int64{1, 1}, []int64{token})
	var shapes map[string][]int64
	if half {
		for name, v := range in {
			if v.DType == graph.Float {
				in[name] = graphtest.F16(v.Shape, v.F32)
			}
		}
		shapes = map[string][]int64{"new_kv": tl.kvShape(1)}
	}
	out := tl.decode.MustRun(t, in, shapes)
	if got := out["new_kv"].Shape; !slices.Equal(got, tl.kvShape(1)) {
		t.Fatalf("new_kv shape %v, want %v", got, tl.kvShape(1))
	}
	return out["logp"].F32, out["new_kv"].F32
}

// decodeInputs lays a cache of k positions, (layers, heads, k, 2dk) as prefill returns it, out as
// llm_decode's inputs with room for c ≥ k positions (the rows after k zero): past_len and each
// layer's keys and values, (heads, c, dk).
func decodeInputs(d Dims, kv []float32, k, c int) map[string]graphtest.Tensor {
	l := d.LLM
	h, dk := l.Heads, l.HeadDim()
	in := map[string]graphtest.Tensor{"past_len": graphtest.I64([]int64{1}, []int64{int64(k)})}
	for i := range l.Blocks {
		keys, values := make([]float32, h*c*dk), make([]float32, h*c*dk)
		for head := range h {
			for j := range k {
				src := kv[((i*h+head)*k+j)*2*dk:]
				copy(keys[(head*c+j)*dk:(head*c+j+1)*dk], src[:dk])
				copy(values[(head*c+j)*dk:(head*c+j+1)*dk], src[dk:2*dk])
			}
		}
		shape := []int64{int64(h), int64(c), int64(dk)}
		in[PastKeyInput(i)] = graphtest.F32(shape, keys)
		in[PastValueInput(i)] = graphtest.F32(shape, values)
	}
	return in
}

// appendKV appends one position (layers, h, 1, c) to a cache (layers, h, k, c).
func (tl *tinyLLM) appendKV(kv []float32, k int, row []float32) []float32 {
	l := tl.d.LLM
	c := 2 * l.HeadDim()
	out := make([]float32, 0, len(kv)+len(row))
	for lh := range l.Blocks * l.Heads {
		out = append(out, kv[lh*k*c:(lh+1)*k*c]...)
		out = append(out, row[lh*c:(lh+1)*c]...)
	}
	return out
}

func checkLogp(t *testing.T, logp []float32) {
	t.Helper()
	sum := 0.0
	for _, v := range logp {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("logp has %v", v)
		}
		sum += math.Exp(float64(v))
	}
	if math.Abs(sum-1) > 1e-3 {
		t.Fatalf("probabilities sum to %v", sum)
	}
}

// Prefill then step-by-step decode gives the same log-probabilities and cache as one prefill over
// the whole sequence (the speech tokens fed as CosyVoice's prompt speech tokens): the folded
// single-query attention agrees with the full rel_shift attention.
func TestLLMDecodeContinuesPrefill(t *testing.T) {
	tl := newTinyLLM(t, false)
	text := []int64{5, 60514, 123, 58857, 7}
	tokens := []int64{17, 4095, 0, 999, 17, 3}
	logp, kv := tl.runPrefill(t, text, false)
	checkLogp(t, logp)
	k := len(text) + 3
	var stepLogp []float32
	for _, tok := range tokens {
		var row []float32
		stepLogp, row = tl.runDecode(t, tok, kv, k, false)
		checkLogp(t, stepLogp)
		kv = tl.appendKV(kv, k, row)
		k++
	}
	full := tl.speech.MustRun(t, map[string]graphtest.Tensor{
		"text":                graphtest.I64([]int64{1, int64(len(text))}, text),
		"spk_emb":             graphtest.F32([]int64{1, int64(tl.d.SpeakerEmbed)}, spkVector(tl.d.SpeakerEmbed)),
		"prompt_speech_token": graphtest.I64([]int64{1, int64(len(tokens))}, tokens),
	}, nil)
	if d := graphtest.MaxAbsDiff(stepLogp, full["logp"].F32); d > 1e-4 {
		t.Errorf("logp after %d decode steps differs from the full prefill by %g", len(tokens), d)
	}
	if d := graphtest.MaxAbsDiff(kv, full["kv"].F32); d > 1e-4 {
		t.Errorf("cache built by decoding differs from the full prefill's by %g", d)
	}
}

// Both encoders are causal: changing the last text token leaves every earlier cache row as it was,
// and changes the rows from that position on. (A full-attention text encoder would change them
// all.)
func TestLLMPrefillIsCausal(t *testing.T) {
	tl := newTinyLLM(t, false)
	a := []int64{11, 22, 33, 44}
	b := []int64{11, 22, 33, 45}
	_, kvA := tl.runPrefill(t, a, false)
	_, kvB := tl.runPrefill(t, b, false)
	l := tl.d.LLM
	n, c := len(a)+3, 2*l.HeadDim()
	changed := 1 + len(a) // position of the last text token: sos, spk, then text
	for lh := range l.Blocks * l.Heads {
		for pos := range n {
			ra := kvA[(lh*n+pos)*c : (lh*n+pos+1)*c]
			rb := kvB[(lh*n+pos)*c : (lh*n+pos+1)*c]
			d := graphtest.MaxAbsDiff(ra, rb)
			if pos < changed && d != 0 {
				t.Fatalf("layer/head %d position %d changed by %g though only a later token differs", lh, pos, d)
			}
			// Layer 0's keys and values are a function of each position's own input; deeper
			// layers see every earlier position.
			layer := lh / l.Heads
			if (pos == changed || pos > changed && layer > 0) && d == 0 {
				t.Fatalf("layer %d position %d did not change with the token at position %d", layer, pos, changed)
			}
		}
	}
}

// The fp16 graphs track the fp32 ones. Weights and activations round to 11 significant bits
// (relative 4.9e-4); through 2+2 tiny blocks, layer norms that rescale activations to unit
// variance and a log-softmax over 4097 classes, log-probabilities move by a few 1e-3 and cache
// entries (magnitudes up to ~5) by about 1e-2; 5e-2 leaves room without hiding real faults,
// which move outputs by O(1).
func TestLLMFloat16TracksFloat32(t *testing.T) {
	full := newTinyLLM(t, false)
	half := newTinyLLM(t, true)
	text := []int64{5, 60514, 123, 7}
	lp32, kv32 := full.runPrefill(t, text, false)
	lp16, kv16 := half.runPrefill(t, text, true)
	checkLogp(t, lp16)
	if d := graphtest.MaxAbsDiff(lp16, lp32); d > 5e-2 {
		t.Errorf("fp16 prefill logp differs by %g", d)
	}
	if d := graphtest.MaxAbsDiff(kv16, kv32); d > 5e-2 {
		t.Errorf("fp16 prefill kv differs by %g", d)
	}
	k := len(text) + 3
	for _, tok := range []int64{100, 4000, 100} {
		l32, r32 := full.runDecode(t, tok, kv32, k, false)
		l16, r16 := half.runDecode(t, tok, kv16, k, true)
		checkLogp(t, l16)
		if d := graphtest.MaxAbsDiff(l16, l32); d > 5e-2 {
			t.Errorf("fp16 decode logp differs by %g at K=%d", d, k)
		}
		if d := graphtest.MaxAbsDiff(r16, r32); d > 5e-2 {
			t.Errorf("fp16 new_kv differs by %g at K=%d", d, k)
		}
		kv32 = full.appendKV(kv32, k, r32)
		kv16 = half.appendKV(kv16, k, r16)
		k++
	}
}

// shapeLiar serves every tensor with the right data except one, reported with a wrong shape.
type shapeLiar struct {
	Weights
	name string
}

func (s shapeLiar) Float32(name string) ([]float32, []int, error) {
	data, shape, err := s.Weights.Float32(name)
	if name == s.name {
		shape = append([]int{1}, shape...)
	}
	return data, shape, err
}

// A weight source that disagrees with the specs while the graph is written fails the build with
// the tensor's name, instead of writing a corrupt graph.
func TestLLMBuildReportsBadWeights(t *testing.T) {
	d := TinyDims()
	w := shapeLiar{RandomWeights(LLMSpecs(d), 1, nil), "llm.encoders.1.self_attn.linear_pos.weight"}
	_, err := BuildLLMDecode(w, d, false)
	if err == nil || !strings.Contains(err.Error(), "llm.encoders.1.self_attn.linear_pos.weight") {
		t.Fatalf("error %v, want one naming the misshapen tensor", err)
	}
	bad := d
	bad.LLM.Heads = 5
	if _, err := BuildLLMPrefill(RandomWeights(LLMSpecs(d), 1, nil), bad); err == nil || !strings.Contains(err.Error(), "not divisible") {
		t.Fatalf("invalid dims accepted: %v", err)
	}
}

// torchExpf reproduces torch's float32 exp bit for bit (golden pairs written by
// tools/parity/make_expf_golden.py with torch on an x86 CPU).
func TestTorchExpfMatchesTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/torch_expf.bin")
	if err != nil {
		t.Fatal(err)
	}
	if len(raw)%8 != 0 || len(raw) == 0 {
		t.Fatalf("torch_expf.bin has %d bytes, not float32 pairs", len(raw))
	}
	for i := 0; i < len(raw); i += 8 {
		x := math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))
		want := math.Float32frombits(binary.LittleEndian.Uint32(raw[i+4:]))
		if got := torchExpf(x); got != want {
			t.Fatalf("torchExpf(%v) = %v (%#08x), torch gives %v (%#08x)", x, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
}
