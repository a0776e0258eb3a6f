package compiler

import (
	"bufio"
	"bytes"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/inference/graph/graphtest"
)

// readKeyTable parses a docs/checkpoint-keys/*.tsv file (key, shape "AxB", dtype, numel), copied
// into testdata from the shared docs: the keys and shapes the reference modules save.
func readKeyTable(t *testing.T, path string) []ParamSpec {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var specs []ParamSpec
	sc := bufio.NewScanner(f)
	for line := 0; sc.Scan(); line++ {
		cols := strings.Split(sc.Text(), "\t")
		if line == 0 || len(cols) < 2 {
			continue
		}
		var shape []int
		for _, p := range strings.Split(cols[1], "x") {
			n, err := strconv.Atoi(p)
			if err != nil {
				t.Fatalf("%s line %d: bad shape %q", path, line+1, cols[1])
			}
			shape = append(shape, n)
		}
		specs = append(specs, ParamSpec{Name: cols[0], Shape: shape})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return specs
}

func compareSpecs(t *testing.T, got, want []ParamSpec) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d tensors, the checkpoint has %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i].Name != want[i].Name || !slices.Equal(got[i].Shape, want[i].Shape) {
			t.Fatalf("tensor %d: got %s %v, the checkpoint has %s %v", i, got[i].Name, got[i].Shape, want[i].Name, want[i].Shape)
		}
	}
}

func TestFlowSpecsAreTheKeysAndShapesOfFlowPt(t *testing.T) {
	compareSpecs(t, FlowSpecs(FullDims()), readKeyTable(t, "testdata/flow.tsv"))
	total := 0
	for _, s := range FlowSpecs(FullDims()) {
		total += s.Numel()
	}
	if total != 104_874_752 {
		t.Errorf("flow.pt holds %d parameters, want 104,874,752 (MODEL.md §6.1)", total)
	}
}

func TestTinyFlowSpecsBuildFromRandomWeights(t *testing.T) {
	d := TinyDims()
	w := RandomWeights(FlowSpecs(d), 1, nil)
	if err := CheckSpecs(w, FlowSpecs(d)); err != nil {
		t.Fatal(err)
	}
}

// randn fills n floats from a fixed-seed normal distribution.
func randn(seed uint64, n int, scale float32) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64()) * scale
	}
	return out
}

func allFinite(t *testing.T, what string, v []float32) {
	t.Helper()
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			t.Fatalf("%s[%d] = %v", what, i, x)
		}
	}
}

func eye(n int) []float32 {
	m := make([]float32, n*n)
	for i := range n {
		m[i*n+i] = 1
	}
	return m
}

func tinyFlowEncoder(t *testing.T) (*graphtest.Session, Dims) {
	t.Helper()
	d := TinyDims()
	model, err := buildFlowEncoder(RandomWeights(FlowSpecs(d), 3, nil), d, true)
	if err != nil {
		t.Fatal(err)
	}
	return graphtest.Open(t, model), d
}

func TestFlowEncoderGivesMuOfTheInterpolatedLength(t *testing.T) {
	s, d := tinyFlowEncoder(t)
	mel := int64(d.MelBins)
	for _, c := range []struct{ S, T int }{{1, 1}, {1, 4}, {5, 17}, {12, 41}} {
		tokens := make([]int64, c.S)
		for i := range tokens {
			tokens[i] = int64((i*977 + 5) % d.SpeechTokens)
		}
		interp := randn(uint64(c.T), c.S*c.T, 0.5)
		out := s.MustRun(t, map[string]graphtest.Tensor{
			"token":   graphtest.I64([]int64{1, int64(c.S)}, tokens),
			"interp":  graphtest.F32([]int64{int64(c.S), int64(c.T)}, interp),
			"spk_emb": graphtest.F32([]int64{1, int64(d.SpeakerEmbed)}, randn(9, d.SpeakerEmbed, 1)),
		}, nil)
		if got := out["mu"].Shape; !slices.Equal(got, []int64{1, mel, int64(c.T)}) {
			t.Errorf("S=%d T=%d: mu shape %v", c.S, c.T, got)
		}
		if got := out["spks"].Shape; !slices.Equal(got, []int64{1, mel}) {
			t.Errorf("spks shape %v", got)
		}
		allFinite(t, "mu", out["mu"].F32)
		allFinite(t, "spks", out["spks"].F32)
	}
}

func TestFlowEncoderInterpMapsTheTokenRatePath(t *testing.T) {
	s, d := tinyFlowEncoder(t)
	const S = 9
	mel := d.MelBins
	tokens := []int64{-1, 0, 17, 4095, 300, 300, 2, 99, 1000} // -1 is clamped to 0 like upstream
	spk := randn(2, d.SpeakerEmbed, 1)
	run := func(tok []int64, interp []float32, T int) map[string]graphtest.Tensor {
		return s.MustRun(t, map[string]graphtest.Tensor{
			"token":   graphtest.I64([]int64{1, S}, tok),
			"interp":  graphtest.F32([]int64{S, int64(T)}, interp),
			"spk_emb": graphtest.F32([]int64{1, int64(d.SpeakerEmbed)}, spk),
		}, nil)
	}
	// An identity interp (S = T) hands the token-rate path to the regulator unchanged.
	id := run(tokens, eye(S), S)
	h := id["h"].F32 // (1, 80, S)
	if diff := graphtest.MaxAbsDiff(id["lr_in"].F32, h); diff != 0 {
		t.Fatalf("identity interp changed the token-rate path (max diff %g)", diff)
	}

	// A general interp (S, T) gives h·interp, and the encoder itself stays at token rate.
	const T = 23
	interp := randn(5, S*T, 0.3)
	gen := run(tokens, interp, T)
	if diff := graphtest.MaxAbsDiff(gen["h"].F32, h); diff != 0 {
		t.Fatalf("h depends on interp (max diff %g): the encoder must run at token rate", diff)
	}
	want := make([]float32, mel*T)
	for c := range mel {
		for j := range T {
			var acc float64
			for i := range S {
				acc += float64(h[c*S+i]) * float64(interp[i*T+j])
			}
			want[c*T+j] = float32(acc)
		}
	}
	if diff := graphtest.MaxAbsDiff(gen["lr_in"].F32, want); diff > 1e-5 {
		t.Errorf("regulator input differs from h·interp by %g", diff)
	}
	if graphtest.MaxAbsDiff(gen["spks"].F32, id["spks"].F32) != 0 {
		t.Error("spks depends on interp")
	}

	// Token -1 embeds as token 0 (torch.clamp(token, min=0)).
	clamped := append([]int64{0}, tokens[1:]...)
	if diff := graphtest.MaxAbsDiff(run(clamped, eye(S), S)["mu"].F32, id["mu"].F32); diff != 0 {
		t.Errorf("token -1 and token 0 give different mu (max diff %g)", diff)
	}
}

func tinyEstimator(t *testing.T) (*graphtest.Session, Dims) {
	t.Helper()
	d := TinyDims()
	model, err := BuildFlowEstimator(RandomWeights(FlowSpecs(d), 4, nil), d)
	if err != nil {
		t.Fatal(err)
	}
	return graphtest.Open(t, model), d
}

// estimatorInputs is one batch of estimator inputs of length T, rows drawn from seeds.
func estimatorInputs(d Dims, T int, seeds []uint64, mask []float32) map[string]graphtest.Tensor {
	B := len(seeds)
	mel := d.MelBins
	var x, mu, spks, cond, tt, m []float32
	for i, s := range seeds {
		x = append(x, randn(s, mel*T, 1)...)
		mu = append(mu, randn(s+100, mel*T, 1)...)
		spks = append(spks, randn(s+200, mel, 0.3)...)
		cond = append(cond, randn(s+300, mel*T, 1)...)
		tt = append(tt, float32(s%10)/10+0.05*float32(i))
		if mask != nil {
			m = append(m, mask...)
		} else {
			for range T {
				m = append(m, 1)
			}
		}
	}
	b, c, l := int64(B), int64(mel), int64(T)
	return map[string]graphtest.Tensor{
		"x":    graphtest.F32([]int64{b, c, l}, x),
		"mask": graphtest.F32([]int64{b, 1, l}, m),
		"mu":   graphtest.F32([]int64{b, c, l}, mu),
		"t":    graphtest.F32([]int64{b}, tt),
		"spks": graphtest.F32([]int64{b, c}, spks),
		"cond": graphtest.F32([]int64{b, c, l}, cond),
	}
}

func TestFlowEstimatorKeepsShapeForOddAndEvenLengths(t *testing.T) {
	s, d := tinyEstimator(t)
	for _, T := range []int{1, 2, 7, 16, 33} {
		out := s.MustRun(t, estimatorInputs(d, T, []uint64{1, 2}, nil), nil)["estimator_out"]
		if !slices.Equal(out.Shape, []int64{2, int64(d.MelBins), int64(T)}) {
			t.Errorf("T=%d: estimator_out shape %v", T, out.Shape)
		}
		allFinite(t, "estimator_out", out.F32)
	}
}

func TestFlowEstimatorBatchRowsAreIndependent(t *testing.T) {
	s, d := tinyEstimator(t)
	const T = 21
	n := d.MelBins * T
	a := s.MustRun(t, estimatorInputs(d, T, []uint64{3, 4}, nil), nil)["estimator_out"].F32
	b := s.MustRun(t, estimatorInputs(d, T, []uint64{3, 8}, nil), nil)["estimator_out"].F32
	if diff := graphtest.MaxAbsDiff(a[:n], b[:n]); diff > 1e-6 {
		t.Errorf("row 0 changed by %g when only row 1 changed", diff)
	}
	if diff := graphtest.MaxAbsDiff(a[n:], b[n:]); diff < 1e-3 {
		t.Errorf("row 1 barely changed (%g) although its inputs did", diff)
	}
	one := s.MustRun(t, estimatorInputs(d, T, []uint64{3}, nil), nil)["estimator_out"].F32
	if diff := graphtest.MaxAbsDiff(one, a[:n]); diff > 1e-5 {
		t.Errorf("batch 1 and row 0 of batch 2 differ by %g", diff)
	}
}

func TestFlowEstimatorOutputIsZeroWhereMasked(t *testing.T) {
	s, d := tinyEstimator(t)
	const T, valid = 12, 9
	mask := make([]float32, T)
	for i := range valid {
		mask[i] = 1
	}
	out := s.MustRun(t, estimatorInputs(d, T, []uint64{5}, mask), nil)["estimator_out"].F32
	for c := range d.MelBins {
		for j := valid; j < T; j++ {
			if out[c*T+j] != 0 {
				t.Fatalf("estimator_out[0,%d,%d] = %g under a zero mask", c, j, out[c*T+j])
			}
		}
	}
	allFinite(t, "estimator_out", out)
}

func TestFlowEstimatorDependsOnTime(t *testing.T) {
	s, d := tinyEstimator(t)
	in := estimatorInputs(d, 10, []uint64{6}, nil)
	a := s.MustRun(t, in, nil)["estimator_out"].F32
	in["t"] = graphtest.F32([]int64{1}, []float32{0.9})
	b := s.MustRun(t, in, nil)["estimator_out"].F32
	if graphtest.MaxAbsDiff(a, b) < 1e-4 {
		t.Error("the estimator ignores t")
	}
}

func TestFlowAndHiFTWritersStreamTheSameModelsAsTheBuilders(t *testing.T) {
	d := TinyDims()
	fw := RandomWeights(FlowSpecs(d), 2, nil)
	hw := RandomWeights(HiFTSpecs(d), 2, nil)
	for _, c := range []struct {
		name  string
		build func() ([]byte, error)
		write func(io.Writer) (int64, error)
	}{
		{"flow_encoder", func() ([]byte, error) { return BuildFlowEncoder(fw, d) }, func(w io.Writer) (int64, error) { return WriteFlowEncoder(w, fw, d) }},
		{"flow_estimator", func() ([]byte, error) { return BuildFlowEstimator(fw, d) }, func(w io.Writer) (int64, error) { return WriteFlowEstimator(w, fw, d) }},
		{"hift", func() ([]byte, error) { return BuildHiFT(hw, d) }, func(w io.Writer) (int64, error) { return WriteHiFT(w, hw, d) }},
	} {
		built, err := c.build()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		n, err := c.write(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(buf.Len()) || !bytes.Equal(buf.Bytes(), built) {
			t.Errorf("%s: streamed %d bytes (reported %d), built %d, contents equal: %v", c.name, buf.Len(), n, len(built), bytes.Equal(buf.Bytes(), built))
		}
	}
}

func TestFlowGraphsReportWeightsThatDoNotFitTheDims(t *testing.T) {
	d := TinyDims()
	wrong := TinyDims()
	wrong.Flow.Model = 48
	wrong.Flow.FF = 96
	_, err := BuildFlowEncoder(RandomWeights(FlowSpecs(wrong), 1, nil), d)
	if err == nil || !strings.Contains(err.Error(), "input_embedding.weight") || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("building with weights of other dimensions: %v", err)
	}
}
