package compiler

import (
	"math"
	"slices"
	"testing"

	"github.com/viettts-studio/studio/inference/graph"
	"github.com/viettts-studio/studio/inference/graph/graphtest"
)

func TestHiFTCheckpointSpecsAreTheKeysAndShapesOfHiftPt(t *testing.T) {
	compareSpecs(t, HiFTCheckpointSpecs(FullDims()), readKeyTable(t, "testdata/hift.tsv"))
	count := func(specs []ParamSpec) int {
		n := 0
		for _, s := range specs {
			n += s.Numel()
		}
		return n
	}
	if n := count(HiFTCheckpointSpecs(FullDims())); n != 20_460_591 {
		t.Errorf("hift.pt holds %d elements, want 20,460,591", n)
	}
	if n := count(HiFTSpecs(FullDims())); n != 20_447_517 {
		t.Errorf("folded HiFT has %d parameters, want 20,447,517 (MODEL.md §7)", n)
	}
}

func TestHiFTSpecsAreTheFoldedCheckpoint(t *testing.T) {
	raw, folded := HiFTCheckpointSpecs(FullDims()), HiFTSpecs(FullDims())
	want := map[string][]int{}
	for _, s := range raw {
		switch {
		case len(s.Name) > 9 && s.Name[len(s.Name)-9:] == ".weight_g":
		case len(s.Name) > 9 && s.Name[len(s.Name)-9:] == ".weight_v":
			want[s.Name[:len(s.Name)-2]] = s.Shape
		default:
			want[s.Name] = s.Shape
		}
	}
	if len(folded) != len(want) {
		t.Fatalf("%d folded tensors, want %d", len(folded), len(want))
	}
	for _, s := range folded {
		if !slices.Equal(want[s.Name], s.Shape) {
			t.Errorf("%s: %v, the folded checkpoint has %v", s.Name, s.Shape, want[s.Name])
		}
	}
}

func tinyHiFT(t *testing.T) (*graphtest.Session, Dims) {
	t.Helper()
	d := TinyDims()
	w := RandomWeights(HiFTSpecs(d), 5, nil)
	if err := CheckSpecs(w, HiFTSpecs(d)); err != nil {
		t.Fatal(err)
	}
	model, err := BuildHiFT(w, d)
	if err != nil {
		t.Fatal(err)
	}
	return graphtest.Open(t, model), d
}

func hiftInputs(d Dims, T int, seed uint64) map[string]graphtest.Tensor {
	n := d.HiFT.Harmonics + 1
	L := T * d.HopLength
	mel := randn(seed, d.MelBins*T, 1)
	for i := range mel {
		mel[i] -= 5 // log-mel range
	}
	phase := randn(seed+1, n, 1.5)
	phase[0] = 0
	return map[string]graphtest.Tensor{
		"mel":         graphtest.F32([]int64{1, int64(d.MelBins), int64(T)}, mel),
		"phase_noise": graphtest.F32([]int64{1, 1, int64(n)}, phase),
		"sine_noise":  graphtest.F32([]int64{1, int64(L), int64(n)}, randn(seed+2, L*n, 1)),
	}
}

func TestHiFTGives256SamplesPerFrameWithinTheAudioLimit(t *testing.T) {
	s, d := tinyHiFT(t)
	for _, T := range []int{1, 2, 5, 16} {
		wav := s.MustRun(t, hiftInputs(d, T, uint64(T)), nil)["wav"]
		if !slices.Equal(wav.Shape, []int64{1, int64(256 * T)}) {
			t.Fatalf("T=%d: wav shape %v, want (1, %d)", T, wav.Shape, 256*T)
		}
		allFinite(t, "wav", wav.F32)
		peak := float32(0)
		for _, v := range wav.F32 {
			peak = max(peak, float32(math.Abs(float64(v))))
		}
		if peak > 0.99 {
			t.Errorf("T=%d: peak %g beyond the ±0.99 clamp", T, peak)
		}
		if peak == 0 {
			t.Errorf("T=%d: silent output", T)
		}
	}
}

func TestHiFTSineBranchUsesThePhaseNoiseOfTheHarmonicsOnly(t *testing.T) {
	s, d := tinyHiFT(t)
	in := hiftInputs(d, 6, 11)
	base := s.MustRun(t, in, nil)["wav"].F32

	// The fundamental's phase is fixed at 0 upstream: its entry must not matter.
	p := slices.Clone(in["phase_noise"].F32)
	p[0] = 2.5
	in["phase_noise"] = graphtest.F32(in["phase_noise"].Shape, p)
	if diff := graphtest.MaxAbsDiff(s.MustRun(t, in, nil)["wav"].F32, base); diff != 0 {
		t.Errorf("phase_noise[0] changed the output by %g", diff)
	}
	// A harmonic's phase matters: random f0 heads put f0 in a voiced range, so the sine runs.
	p[3] += 1
	in["phase_noise"] = graphtest.F32(in["phase_noise"].Shape, p)
	if diff := graphtest.MaxAbsDiff(s.MustRun(t, in, nil)["wav"].F32, base); diff < 1e-5 {
		t.Errorf("a harmonic's phase barely changed the output (%g): is the sine branch voiced?", diff)
	}
}

// stftGraphs builds two small graphs around the vocoder's transforms: x (1,1,L) → spec (1,18,F),
// and mag, phase (1,9,F) → y (1,1,4(F−1)).
func stftGraphs(t *testing.T, nfft, hop int) (*graphtest.Session, *graphtest.Session) {
	t.Helper()
	b := graph.New("stft")
	x := b.Input("x", graph.Float, graph.N(1), graph.N(1), graph.Sym("L"))
	b.Output(hiftSTFT(b, x, nfft, hop), "spec")
	m1, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	b = graph.New("istft")
	bins := nfft/2 + 1
	mag := b.Input("mag", graph.Float, graph.N(1), graph.N(bins), graph.Sym("F"))
	phase := b.Input("phase", graph.Float, graph.N(1), graph.N(bins), graph.Sym("F"))
	b.Output(hiftISTFT(b, mag, phase, nfft, hop), "y")
	m2, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return graphtest.Open(t, m1), graphtest.Open(t, m2)
}

func TestHiFTSTFTMatchesTheDFTAndTheISTFTInvertsIt(t *testing.T) {
	const nfft, hop, L = 16, 4, 256
	stft, istft := stftGraphs(t, nfft, hop)
	x := randn(21, L, 0.3)
	spec := stft.MustRun(t, map[string]graphtest.Tensor{"x": graphtest.F32([]int64{1, 1, L}, x)}, nil)["spec"]
	F := L/hop + 1
	if !slices.Equal(spec.Shape, []int64{1, nfft + 2, int64(F)}) {
		t.Fatalf("spec shape %v", spec.Shape)
	}
	// Reference: reflect-padded, Hann-windowed DFT in float64.
	win := hannPeriodic(nfft)
	padded := make([]float64, L+nfft)
	for i := range padded {
		j := i - nfft/2
		if j < 0 {
			j = -j
		}
		if j >= L {
			j = 2*(L-1) - j
		}
		padded[i] = float64(x[j])
	}
	bins := nfft/2 + 1
	worst := 0.0
	mag := make([]float32, bins*F)
	phase := make([]float32, bins*F)
	for f := range F {
		for k := range bins {
			var re, im float64
			for n := range nfft {
				a := 2 * math.Pi * float64(k*n) / nfft
				v := padded[f*hop+n] * float64(win[n])
				re += v * math.Cos(a)
				im -= v * math.Sin(a)
			}
			worst = max(worst, math.Abs(re-float64(spec.F32[k*F+f])), math.Abs(im-float64(spec.F32[(bins+k)*F+f])))
			mag[k*F+f] = float32(math.Hypot(re, im))
			phase[k*F+f] = float32(math.Atan2(im, re))
		}
	}
	if worst > 1e-5 {
		t.Errorf("conv STFT differs from the DFT by %g", worst)
	}
	y := istft.MustRun(t, map[string]graphtest.Tensor{
		"mag":   graphtest.F32([]int64{1, int64(bins), int64(F)}, mag),
		"phase": graphtest.F32([]int64{1, int64(bins), int64(F)}, phase),
	}, nil)["y"]
	if !slices.Equal(y.Shape, []int64{1, 1, L}) {
		t.Fatalf("istft shape %v, want (1,1,%d)", y.Shape, L)
	}
	if diff := graphtest.MaxAbsDiff(y.F32, x); diff > 1e-5 {
		t.Errorf("iSTFT(STFT(x)) differs from x by %g", diff)
	}
}
