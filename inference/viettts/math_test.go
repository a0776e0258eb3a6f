package viettts

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

func readF32(t testing.TB, name string) []float32 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".f32"))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func meta(t testing.TB) map[string][]int {
	b, err := os.ReadFile(filepath.Join("testdata", "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string][]int
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// The interpolation matrix must reproduce VietTTS's length regulator (F.interpolate on the prompt,
// head, middle and tail parts); fixtures from tools/fixtures/features/make.py.
func TestInterpMatrixReproducesTheLengthRegulator(t *testing.T) {
	m := meta(t)
	for _, name := range []string{"regulate_long", "regulate_short"} {
		sz := m[name+"_sizes"]
		p, n, tp := sz[0], sz[1], sz[2]
		h := readF32(t, name+"_in") // (S, C)
		want := readF32(t, name+"_out")
		C := m[name+"_in"][1]
		interp, S, T := interpMatrix(p, n, tp)
		if S != p+n || T != m[name+"_out"][1] {
			t.Fatalf("%s: matrix %dx%d, want %dx%d", name, S, T, p+n, m[name+"_out"][1])
		}
		worst := 0.0
		for c := 0; c < C; c++ {
			for f := 0; f < T; f++ {
				var acc float64
				for s := 0; s < S; s++ {
					acc += float64(h[s*C+c]) * float64(interp[s*T+f])
				}
				worst = math.Max(worst, math.Abs(acc-float64(want[c*T+f])))
			}
		}
		if worst > 1e-5 {
			t.Errorf("%s: max abs error %.2e against F.interpolate", name, worst)
		}
		// Every column holds at most two nonzero weights summing to 1.
		for f := 0; f < T; f++ {
			nz, sum := 0, float32(0)
			for s := 0; s < S; s++ {
				if w := interp[s*T+f]; w != 0 {
					nz++
					sum += w
				}
			}
			if nz > 2 || math.Abs(float64(sum-1)) > 1e-6 {
				t.Fatalf("%s: column %d has %d weights summing to %v", name, f, nz, sum)
			}
		}
	}
}

func TestMelFramesFollowTheTokenCount(t *testing.T) {
	for n, want := range map[int]int{1: 3, 20: 68, 25: 86, 125: 430, 600: 2067} {
		if got := melFrames(n); got != want {
			t.Errorf("melFrames(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestEulerScheduleMatchesTorch(t *testing.T) {
	want := readF32(t, "euler_t")
	got := eulerSchedule()
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-7 {
			t.Errorf("t[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestStretchMelKeepsEndsAndLength(t *testing.T) {
	T := 10
	mel := make([]float32, melBins*T)
	for c := 0; c < melBins; c++ {
		for f := 0; f < T; f++ {
			mel[c*T+f] = float32(f)
		}
	}
	out := stretchMel(mel, T, 20)
	if len(out) != melBins*20 {
		t.Fatalf("len %d", len(out))
	}
	if out[0] != 0 || out[19] != 9 {
		t.Errorf("ends %v %v, want 0 and 9", out[0], out[19])
	}
	for f := 1; f < 20; f++ {
		if out[f] < out[f-1] {
			t.Fatalf("not monotone at %d: %v", f, out[:20])
		}
	}
}

func TestFadeRampsBothEnds(t *testing.T) {
	wav := make([]float32, 10000)
	for i := range wav {
		wav[i] = 1
	}
	fade(wav)
	if wav[0] != 0 || wav[len(wav)-1] != 0 || wav[5000] != 1 {
		t.Errorf("fade: first %v last %v middle %v", wav[0], wav[len(wav)-1], wav[5000])
	}
	if wav[fadeSamples-1] != 1 || math.Abs(float64(wav[1102])-1102.0/2204) > 1e-6 {
		t.Errorf("ramp: %v at 2204, %v at 1102", wav[fadeSamples-1], wav[1102])
	}
}

// The cache lays prefill's rows and every appended row out as llm_decode reads them: per layer its
// keys then its values, (heads, room, dim), the first k rows of each head filled in order and the
// rest zero, across the in-place layouts for more room.
func TestKVCacheLayout(t *testing.T) {
	const layers, heads, dim = 2, 3, 2
	// rowOf is the (key ‖ value) row of position j, layer l, head h: distinct bytes.
	rowOf := func(j, l, h int) []byte {
		r := make([]byte, 2*dim)
		for i := range r {
			r[i] = byte(j*7 + l*50 + h*13 + i*3 + 1)
		}
		return r
	}
	const prefilled, total = 5, 2*cacheChunk + 3
	c := &kvCache{buf: make([]byte, cacheBytes(layers, heads, dim, 1, total)), layers: layers, heads: heads, dim: dim, el: 1}
	var kv []byte // (layers, heads, k, 2dim)
	for l := range layers {
		for h := range heads {
			for j := range prefilled {
				kv = append(kv, rowOf(j, l, h)...)
			}
		}
	}
	if err := c.fill(kv, prefilled); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		for l := range layers {
			for kind := range 2 {
				region := c.region(2*l + kind)
				if len(region) != heads*c.c*dim {
					t.Fatalf("region %d has %d bytes, want %d", 2*l+kind, len(region), heads*c.c*dim)
				}
				for h := range heads {
					for j := range c.c {
						got := region[(h*c.c+j)*dim : (h*c.c+j+1)*dim]
						want := make([]byte, dim)
						if j < c.k {
							want = rowOf(j, l, h)[kind*dim : (kind+1)*dim]
						}
						if !bytes.Equal(got, want) {
							t.Fatalf("k=%d room %d: layer %d kind %d head %d row %d is %v, want %v", c.k, c.c, l, kind, h, j, got, want)
						}
					}
				}
			}
		}
	}
	check()
	for c.k < total {
		var rows []byte // (layers, heads, 1, 2dim)
		for l := range layers {
			for h := range heads {
				rows = append(rows, rowOf(c.k, l, h)...)
			}
		}
		room := c.c
		if err := c.append(rows); err != nil {
			t.Fatal(err)
		}
		if c.c != room && c.c != room+cacheChunk {
			t.Fatalf("room went from %d to %d", room, c.c)
		}
		check()
	}
	if c.c != 3*cacheChunk {
		t.Errorf("room %d after %d positions, want %d", c.c, total, 3*cacheChunk)
	}
	// A buffer too small for more room is an error, not a write past its end.
	small := &kvCache{buf: make([]byte, cacheBytes(layers, heads, dim, 1, cacheChunk)), layers: layers, heads: heads, dim: dim, el: 1}
	if err := small.fill(make([]byte, layers*heads*cacheChunk*2*dim), cacheChunk); err != nil {
		t.Fatal(err)
	}
	if err := small.append(make([]byte, layers*heads*2*dim)); err == nil {
		t.Error("append past the buffer's room succeeded")
	}
}

func logits(p map[int]float64, vocab int) []float32 {
	out := make([]float32, vocab)
	for i := range out {
		out[i] = float32(math.Log(1e-9))
	}
	for id, v := range p {
		out[id] = float32(math.Log(v))
	}
	return out
}

func TestNucleusKeepsAtLeastTwoCandidates(t *testing.T) {
	// One token has 0.9: top-p 0.8 alone would keep only it; VietTTS keeps a second one too.
	s := newSampler(rand.New(rand.NewPCG(1, 2)), 100)
	lp := logits(map[int]float64{7: 0.9, 3: 0.09, 5: 0.01}, 100)
	seen := map[int]int{}
	for range 2000 {
		s.softmax(lp)
		seen[s.nucleus()]++
	}
	if seen[3] == 0 || seen[7] == 0 {
		t.Errorf("draws %v: want both 7 and 3", seen)
	}
	if seen[5] != 0 {
		t.Errorf("token 5 drawn %d times; it is outside the nucleus", seen[5])
	}
}

func TestNucleusCapsAtTopK(t *testing.T) {
	s := newSampler(rand.New(rand.NewPCG(3, 4)), 100)
	p := map[int]float64{}
	for i := range 100 {
		p[i] = 0.01
	}
	lp := logits(p, 100)
	seen := map[int]bool{}
	for range 5000 {
		s.softmax(lp)
		seen[s.nucleus()] = true
	}
	if len(seen) != topK {
		t.Errorf("drew %d distinct ids from a flat distribution, want top_k=%d", len(seen), topK)
	}
	for id := range seen {
		if id >= topK {
			t.Errorf("drew id %d: ties must keep the lowest ids", id)
		}
	}
}

func TestRepetitionRedrawsFromTheFullDistribution(t *testing.T) {
	// The nucleus is {0, 1}; token 2 (prob 0.1) is outside it, and can only come from a full redraw,
	// which happens once the nucleus pick repeats a recent token.
	lp := logits(map[int]float64{0: 0.5, 1: 0.4, 2: 0.1}, 3)
	s := newSampler(rand.New(rand.NewPCG(5, 6)), 3)
	n2 := 0
	for range 3000 {
		if s.next(lp, []int{0, 1}, 99, true) == 2 {
			n2++
		}
	}
	if n2 == 0 {
		t.Error("token 2 never drawn: repetition-aware redraw is not happening")
	}
	n2 = 0
	for range 3000 {
		if s.next(lp, nil, 99, true) == 2 {
			n2++
		}
	}
	if n2 != 0 {
		t.Errorf("token 2 drawn %d times without any history", n2)
	}
}

func TestEOSIsRedrawnBelowTheMinimumLength(t *testing.T) {
	lp := logits(map[int]float64{4: 0.95, 1: 0.05}, 5)
	s := newSampler(rand.New(rand.NewPCG(7, 8)), 5)
	for range 500 {
		if id := s.next(lp, nil, 4, false); id == 4 {
			t.Fatal("EOS sampled below the minimum length")
		}
	}
	only := logits(map[int]float64{4: 1}, 5)
	if id := s.next(only, nil, 4, false); id == 4 {
		t.Fatal("a model that only wants EOS made the sampler return EOS")
	}
}

func TestSamplerIsReproducibleFromItsSeed(t *testing.T) {
	lp := make([]float32, 4097)
	r := rand.New(rand.NewPCG(9, 9))
	for i := range lp {
		lp[i] = float32(r.NormFloat64() * 3)
	}
	draw := func(seed uint64) []int {
		s := newSampler(rand.New(rand.NewPCG(seed, 1)), len(lp))
		var out []int
		for range 50 {
			out = append(out, s.next(lp, out, 4096, true))
		}
		return out
	}
	if a, b := draw(1), draw(1); !slices.Equal(a, b) {
		t.Error("same seed, different tokens")
	}
	if a, b := draw(1), draw(2); slices.Equal(a, b) {
		t.Error("different seeds, same tokens")
	}
}

func testVoice(id string, seed uint64) *Voice {
	r := rand.New(rand.NewPCG(seed, 0))
	v := &Voice{ID: id, Name: "Giọng " + id, Source: "test", Tokens: make([]int32, 12), Mel: make([]float32, 40*melBins), XVector: make([]float32, xvectorDim)}
	for i := range v.Tokens {
		v.Tokens[i] = int32(r.IntN(speechTokens))
	}
	for i := range v.Mel {
		v.Mel[i] = float32(r.NormFloat64()) - 5
	}
	for i := range v.XVector {
		v.XVector[i] = float32(r.NormFloat64())
	}
	return v
}

func TestVoiceFilesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	v := testVoice("lan", 1)
	if err := WriteVoice(dir, v); err != nil {
		t.Fatal(err)
	}
	got, err := ReadVoice(filepath.Join(dir, "lan"+VoiceExt))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != v.ID || got.Name != v.Name || !slices.Equal(got.Tokens, v.Tokens) || !slices.Equal(got.Mel, v.Mel) || !slices.Equal(got.XVector, v.XVector) {
		t.Error("voice changed in a round trip")
	}
	os.WriteFile(filepath.Join(dir, "broken"+VoiceExt), []byte("VIETTTS-VOICE 1\nxx"), 0o644)
	WriteVoice(filepath.Join(t.TempDir()), testVoice("other", 2))
	vs, errs := ListVoices(dir, filepath.Join(dir, "missing"))
	if len(vs) != 1 || len(errs) != 1 || !errors.Is(errs[0], ErrNotVoice) {
		t.Errorf("ListVoices: %d voices, errors %v", len(vs), errs)
	}
	if err := WriteVoice(dir, &Voice{ID: "../evil", Tokens: v.Tokens, Mel: v.Mel, XVector: v.XVector}); err == nil {
		t.Error("a voice id with a path was accepted")
	}
}

// FuzzDecodeVoice feeds arbitrary bytes to the voice file parser: a voice or an error, never a
// panic or an absurd allocation.
func FuzzDecodeVoice(f *testing.F) {
	var buf bytes.Buffer
	EncodeVoice(&buf, testVoice("seed", 3))
	f.Add(buf.Bytes())
	f.Add([]byte("VIETTTS-VOICE 1\n\x02\x00\x00\x00{}"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeVoice(bytes.NewReader(b), "x")
		if err == nil {
			if verr := v.Validate(); verr != nil {
				t.Fatalf("decoded an invalid voice: %v", verr)
			}
		}
	})
}

// BenchmarkCacheAppend measures the host cost of one decode step's cache append at full size
// (14 layers × 16 heads, 64 fp32 values per key or value row) by cache length: the row writes
// ("rows") and the layout for more room that every cacheChunk-th step adds ("grow").
func BenchmarkCacheAppend(b *testing.B) {
	const layers, heads, dim, el = 14, 16, 64, 4
	for _, k := range []int{50, 300, 600} {
		c := &kvCache{buf: make([]byte, cacheBytes(layers, heads, dim, el, k+2*cacheChunk)), layers: layers, heads: heads, dim: dim, el: el}
		if err := c.fill(make([]byte, layers*heads*k*2*dim*el), k); err != nil {
			b.Fatal(err)
		}
		room := c.c
		rows := make([]byte, layers*heads*2*dim*el)
		b.Run("rows/K="+strconv.Itoa(k), func(b *testing.B) {
			for b.Loop() {
				c.k, c.c = k, room
				if err := c.append(rows); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("grow/K="+strconv.Itoa(k), func(b *testing.B) {
			b.SetBytes(int64(2 * layers * heads * k * dim * el))
			for b.Loop() {
				c.k, c.c = k, room
				if err := c.grow(room + cacheChunk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSamplerStep measures one sampling step over the 4097 speech-token log-probabilities.
func BenchmarkSamplerStep(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	lp := make([]float32, 4097)
	for i := range lp {
		lp[i] = float32(r.NormFloat64() * 3)
	}
	s := newSampler(r, len(lp))
	hist := make([]int, 0, 600)
	for b.Loop() {
		id := s.next(lp, hist, 4096, true)
		if len(hist) < 600 {
			hist = append(hist, id)
		}
	}
}
