package gpu_test

import (
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/gpu"
	"github.com/viettts-studio/studio/inference/nvml"
	"github.com/viettts-studio/studio/inference/tokenizer"
)

func TestCompareFindsTheLargestDifferenceAndOneSidedNaNs(t *testing.T) {
	nan := float32(math.NaN())
	d := gpu.Compare([]float32{1, -4, 2, nan, nan}, []float32{1, -4.5, 2.1, nan, 3})
	if d.MaxAbs != 0.5 || d.At != 1 || d.Scale != 4 || d.NaN != 1 || d.N != 5 {
		t.Errorf("got %+v", d)
	}
	if d := gpu.Compare([]float32{1}, []float32{1, 2}); !math.IsInf(d.MaxAbs, 1) {
		t.Errorf("different lengths compare as %v", d)
	}
	if d := gpu.Compare([]float32{1, 2}, []float32{1, 2}); d.MaxAbs != 0 || d.RMS != 0 {
		t.Errorf("equal slices differ: %v", d)
	}
}

func TestMarginAndArgmax(t *testing.T) {
	v := []float32{-3, -1, -1.25, float32(math.NaN()), -7}
	if gpu.Argmax(v) != 1 || gpu.Margin(v) != 0.25 {
		t.Errorf("argmax %d margin %v", gpu.Argmax(v), gpu.Margin(v))
	}
}

func TestSamplerStartsFromTheFirstReadingThatWorked(t *testing.T) {
	fail := true
	s := gpu.Sample(func() (uint64, error) {
		if fail {
			fail = false
			return 0, errors.New("NVML not ready")
		}
		return 300, nil
	}, time.Hour)
	u := s.Stop()
	if u.First != 300 || u.Growth() != 0 || u.Err == nil || u.Samples != 1 {
		t.Errorf("usage %+v", u)
	}
}

func TestSamplerKeepsAPeakThatLastsOneReading(t *testing.T) {
	readings := []uint64{100, 150, 900, 200}
	var n atomic.Int64
	reached := make(chan struct{})
	read := func() (uint64, error) {
		i := n.Add(1) - 1
		if i == int64(len(readings)) {
			close(reached)
		}
		if i == 1 {
			return 0, errors.New("NVML busy")
		}
		return readings[min(int(i), len(readings)-1)], nil
	}
	s := gpu.Sample(read, time.Millisecond)
	select {
	case <-reached:
	case <-t.Context().Done():
		t.Fatal("the sampler stopped reading")
	}
	u := s.Stop()
	if u.First != 100 || u.Peak != 900 || u.Last != 200 || u.Growth() != 800 {
		t.Errorf("usage %+v", u)
	}
	if u.Err == nil || u.Samples < len(readings)-1 {
		t.Errorf("a failed reading was not kept, or readings were lost: %+v", u)
	}
	if again := s.Stop(); again != u {
		t.Errorf("a second Stop changed the usage: %+v", again)
	}
}

func TestFindSaysWhyThereIsNoGPU(t *testing.T) {
	if info, err := nvml.Read(); err == nil && len(info.Devices) > 0 {
		t.Skip("this machine has an NVIDIA GPU; the gpu-tagged tests cover it")
	}
	_, err := gpu.Find(0, "")
	if !errors.Is(err, gpu.ErrNoGPU) {
		t.Fatalf("Find without a GPU: %v", err)
	}
	t.Logf("without a GPU: %v", err)
}

// Every case must run on the CPU with its inputs, give finite outputs that are not all zeros,
// and give the same outputs with another thread count: the cases are valid inputs of each graph.
func TestEveryGraphCaseRunsOnTheCPU(t *testing.T) {
	initORT(t)
	b := tinyBundle(t)
	cases, err := gpu.Cases(b, 1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	one, two := cpuOptions(t, 1), cpuOptions(t, 2)
	for _, c := range cases {
		seen[c.Graph] = true
		a, err := c.Run(one)
		if err != nil {
			t.Fatal(err)
		}
		bb, err := c.Run(two)
		if err != nil {
			t.Fatal(err)
		}
		for i := range a {
			x, y := a[i].Floats(), bb[i].Floats()
			d := gpu.Compare(x, y)
			if d.NaN > 0 || d.MaxAbs > 1e-4*max(1, d.Scale) || d.Scale == 0 {
				t.Errorf("%s.%s: 1 vs 2 threads: %v", c.Graph, a[i].Name, d)
			}
			for _, v := range x {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Errorf("%s.%s has non-finite outputs", c.Graph, a[i].Name)
					break
				}
			}
		}
	}
	for _, g := range []string{bundle.GraphLLMPrefill, bundle.GraphLLMDecode, bundle.GraphLLMPrefillFP16, bundle.GraphLLMDecodeFP16,
		bundle.GraphFlowEncoder, bundle.GraphFlowEstimator, bundle.GraphHiFT} {
		if !seen[g] {
			t.Errorf("no case for graph %s", g)
		}
	}
}

// A run forced along another run's tokens must see the same steps: teacher forcing compares two
// providers on one history.
func TestGreedyForcedAlongItsOwnTokensAgreesAtEveryStep(t *testing.T) {
	initORT(t)
	b := tinyBundle(t)
	tok, err := tokenizer.Load(b.TokenizerPath())
	if err != nil {
		t.Fatal(err)
	}
	var text []int64
	for _, id := range tok.Encode("Xin chào Việt Nam, hôm nay trời đẹp.") {
		text = append(text, int64(id))
	}
	xvec := make([]float32, 192)
	for i := range xvec {
		xvec[i] = float32(math.Sin(float64(i)))
	}
	for _, fp16 := range []bool{false, true} {
		a, err := gpu.OpenLLM(b, fp16, cpuOptions(t, 1))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		bb, err := gpu.OpenLLM(b, fp16, cpuOptions(t, 2))
		if err != nil {
			t.Fatal(err)
		}
		defer bb.Close()
		ref, err := a.Greedy(text, xvec, 30, nil)
		if err != nil {
			t.Fatal(err)
		}
		other, err := bb.Greedy(text, xvec, 30, ref.Tokens)
		if err != nil {
			t.Fatal(err)
		}
		ag := gpu.Agree(ref, other, 4096)
		if ag.Steps != 30 || ag.Same != 30 || ag.MaxLogp > 1e-3 {
			t.Errorf("fp16=%v: %+v", fp16, ag)
		}
		distinct := map[int]bool{}
		for _, id := range ref.Tokens {
			distinct[id] = true
		}
		if len(distinct) < 2 {
			t.Errorf("fp16=%v: the greedy run repeats one token %v: the cache is not growing", fp16, ref.Tokens)
		}
	}
}
