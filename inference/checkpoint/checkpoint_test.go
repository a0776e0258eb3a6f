package checkpoint

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// fixture returns the path of a checkpoint written by tools/fixtures/pt/make_fixtures.py.
func fixture(name string) string { return filepath.Join("testdata", name) }

// pattern is the value make_fixtures.py stores at element i of a tensor with the given seed.
func pattern(n int, seed int, offset int) []float32 {
	out := make([]float32, n)
	for i := range out {
		j := i + offset
		out[i] = float32((j*7+seed*13)%97-48) / 16
	}
	return out
}

func open(t *testing.T, name string) *StateDict {
	t.Helper()
	sd, err := Open(fixture(name))
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	t.Cleanup(func() { sd.Close() })
	return sd
}

func wantTensor(t *testing.T, sd *StateDict, name string, dtype DType, shape []int, want []float32) {
	t.Helper()
	tn, err := sd.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	if tn.DType != dtype || !slices.Equal(tn.Shape, shape) {
		t.Fatalf("%s: got %s %v, want %s %v", name, tn.DType, tn.Shape, dtype, shape)
	}
	got, err := tn.Float32()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %v, want %v", name, got, want)
	}
}

func TestReadsAnFP32StateDictWrittenByPyTorch(t *testing.T) {
	for _, file := range []string{"fp32.pt", "archive_prefix.pt"} {
		t.Run(file, func(t *testing.T) {
			sd := open(t, file)
			want := []string{"0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"}
			if !slices.Equal(sd.Keys(), want) {
				t.Fatalf("keys %v, want %v", sd.Keys(), want)
			}
			wantTensor(t, sd, "0.weight", Float32, []int{3, 4}, pattern(12, 0, 0))
			wantTensor(t, sd, "0.bias", Float32, []int{3}, pattern(3, 1, 0))
			wantTensor(t, sd, "1.weight", Float32, []int{3}, pattern(3, 2, 0))
			wantTensor(t, sd, "2.weight", Float32, []int{2, 3, 3}, pattern(18, 4, 0))
			data, shape, err := sd.Float32("2.bias")
			if err != nil || !slices.Equal(shape, []int{2}) || !slices.Equal(data, pattern(2, 5, 0)) {
				t.Fatalf("Float32(2.bias) = %v %v %v", data, shape, err)
			}
		})
	}
}

func TestConvertsHalfBFloatAndIntegerTensors(t *testing.T) {
	sd := open(t, "fp16.pt")
	wantTensor(t, sd, "half.weight", Float16, []int{3, 5}, pattern(15, 1, 0))
	wantTensor(t, sd, "bf16.weight", BFloat16, []int{2, 4}, pattern(8, 2, 0))
	wantTensor(t, sd, "scalar", Float32, []int{}, pattern(1, 3, 0))
	wantTensor(t, sd, "empty", Float32, []int{0, 4}, []float32{})
	wantTensor(t, sd, "steps", Int64, []int{3}, []float32{1, -2, 3})
}

func TestReadsTensorsAtAnOffsetIntoASharedStorage(t *testing.T) {
	sd := open(t, "offset.pt")
	wantTensor(t, sd, "whole", Float32, []int{6, 4}, pattern(24, 4, 0))
	wantTensor(t, sd, "rows", Float32, []int{3, 4}, pattern(12, 4, 8))
}

func TestUnwrapsACheckpointNestedUnderStateDict(t *testing.T) {
	sd := open(t, "nested.pt")
	if sd.Wrapper != "state_dict" {
		t.Fatalf("wrapper %q, want state_dict", sd.Wrapper)
	}
	if !slices.Equal(sd.Keys(), []string{"encoder.weight", "encoder.bias"}) {
		t.Fatalf("keys %v", sd.Keys())
	}
	wantTensor(t, sd, "encoder.weight", Float32, []int{2, 3}, pattern(6, 5, 0))
}

func TestFoldsWeightNormAsPyTorchDoes(t *testing.T) {
	sd := open(t, "weightnorm.pt")
	f := FoldWeightNorm(sd)
	keys := f.Keys()
	for _, k := range keys {
		if strings.HasSuffix(k, "_g") || strings.HasSuffix(k, "_v") {
			t.Fatalf("folded view still lists %s (keys %v)", k, keys)
		}
	}
	for _, p := range []string{"conv_pre", "ups.0"} {
		if !slices.Contains(keys, p+".weight") {
			t.Fatalf("folded view lacks %s.weight (keys %v)", p, keys)
		}
		got, shape, err := f.Float32(p + ".weight")
		if err != nil {
			t.Fatal(err)
		}
		want, wshape, err := sd.Float32(p + ".weight_folded")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(shape, wshape) {
			t.Fatalf("%s: folded shape %v, torch's %v", p, shape, wshape)
		}
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*math.Max(1, math.Abs(float64(want[i]))) {
				t.Fatalf("%s[%d]: folded %g, torch %g", p, i, got[i], want[i])
			}
		}
	}
	// Tensors without a pair pass through.
	if _, _, err := f.Float32("conv_pre.bias"); err != nil {
		t.Fatal(err)
	}
}

func TestRefusesAPickleThatCallsCode(t *testing.T) {
	_, err := Open(fixture("malicious.pt"))
	if !errors.Is(err, ErrUnsafePickle) {
		t.Fatalf("got %v, want ErrUnsafePickle", err)
	}
	for _, want := range []string{"malicious.pt", "refuses pickle global posix.system", "not a PyTorch state dict"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
}

func TestRefusesGlobalsOutsideTheAllowList(t *testing.T) {
	for _, g := range []string{"os\nsystem\n", "builtins\neval\n", "torch\nload\n", "subprocess\nPopen\n"} {
		p := []byte("\x80\x02c" + g + "q\x00.")
		_, err := unpickle(p)
		if !errors.Is(err, ErrUnsafePickle) || !strings.Contains(err.Error(), strings.ReplaceAll(strings.TrimSuffix(g, "\n"), "\n", ".")) {
			t.Fatalf("%q: got %v", g, err)
		}
	}
}

func TestSaysATruncatedFileIsTruncated(t *testing.T) {
	_, err := Open(fixture("truncated.pt"))
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "truncated.pt: is truncated") {
		t.Fatalf("got %v", err)
	}
}

func TestSaysAShortStorageIsDamaged(t *testing.T) {
	// Rewrite fp32.pt with one storage cut short: the zip is valid, the data is not.
	src, err := zip.OpenReader(fixture("fp32.pt"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range src.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name == "fp32/data/4" {
			b = b[:len(b)-8]
		}
		out, _ := w.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
		out.Write(b)
	}
	w.Close()
	path := filepath.Join(t.TempDir(), "llm.pt")
	os.WriteFile(path, buf.Bytes(), 0o644)
	_, err = Open(path)
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "llm.pt: storage 4 of tensor 2.weight") {
		t.Fatalf("got %v", err)
	}
}

func TestRefusesNonContiguousTensors(t *testing.T) {
	_, err := Open(fixture("shared.pt"))
	if !errors.Is(err, ErrNotCheckpoint) || !strings.Contains(err.Error(), "shared.pt: tensor transposed is not contiguous") {
		t.Fatalf("got %v", err)
	}
}

func TestExplainsTheLegacyFormatAndOtherFiles(t *testing.T) {
	_, err := Open(fixture("legacy.pt"))
	if !errors.Is(err, ErrNotCheckpoint) || !strings.Contains(err.Error(), "legacy") {
		t.Fatalf("legacy: got %v", err)
	}
	path := filepath.Join(t.TempDir(), "flow.pt")
	os.WriteFile(path, []byte("<html>404 not found</html>"), 0o644)
	_, err = Open(path)
	if !errors.Is(err, ErrNotCheckpoint) || !strings.Contains(err.Error(), "flow.pt: is not a PyTorch checkpoint") {
		t.Fatalf("html: got %v", err)
	}
	_, err = Open(filepath.Join(t.TempDir(), "missing.pt"))
	if err == nil || !strings.Contains(err.Error(), "missing.pt: cannot open") {
		t.Fatalf("missing: got %v", err)
	}
}

func TestOpensAnotherModelsCheckpointAsPlainTensors(t *testing.T) {
	// The reader does not judge what the model is; the compiler's key check does. It must still
	// read it faithfully.
	sd := open(t, "resnet.pt")
	if len(sd.Keys()) != 8 {
		t.Fatalf("keys %v", sd.Keys())
	}
	wantTensor(t, sd, "bn1.num_batches_tracked", Int64, []int{}, []float32{3})
	wantTensor(t, sd, "conv1.weight", Float32, []int{4, 3, 3, 3}, pattern(108, 7, 0))
}

func TestHalfToFloat32(t *testing.T) {
	for _, c := range []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0400, float32(math.Ldexp(1, -14))},
		{0x0001, float32(math.Ldexp(1, -24))}, {0x03ff, float32(math.Ldexp(1023, -24))},
		{0x8000, float32(math.Copysign(0, -1))}, {0x7c00, float32(math.Inf(1))}, {0x3555, 0.333251953125},
	} {
		if got := HalfToFloat32(c.h); math.Float32bits(got) != math.Float32bits(c.want) {
			t.Errorf("HalfToFloat32(%#04x) = %g, want %g", c.h, got, c.want)
		}
	}
	if !math.IsNaN(float64(HalfToFloat32(0x7e00))) {
		t.Error("0x7e00 is not NaN")
	}
}

func TestReadsTheConfigFieldsWithoutRunningTags(t *testing.T) {
	text := `# set random seed, so that you may reproduce your training results.
__set_seed1: !apply:random.seed [1986]
sample_rate: 22050
text_encoder_input_size: 512
llm_input_size: 1024
llm_output_size: 1024
spk_embed_dim: 192 # x-vector

llm: !new:viettts.llm.llm.TransformerLM
    text_encoder_input_size: !ref <text_encoder_input_size>
    text_token_size: 60515
    speech_token_size: 4096
    spk_embed_dim: !ref <spk_embed_dim>
    llm_input_size: 9
flow: !new:viettts.flow.flow.MaskedDiffWithXvec
    speech_token_size: 1
`
	c, err := ParseConfig([]byte(text), "config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{SampleRate: 22050, TextEncoderInputSize: 512, LLMInputSize: 1024, LLMOutputSize: 1024,
		SpkEmbedDim: 192, TextTokenSize: 60515, SpeechTokenSize: 4096}
	if !c.Has("speech_token_size") || c.Has("token_frame_rate") || c.Scalars["flow.speech_token_size"] != "1" {
		t.Fatalf("Has/Scalars wrong: %v", c.Scalars)
	}
	c.Scalars, c.found = nil, nil
	if !reflect.DeepEqual(*c, want) {
		t.Fatalf("got %+v, want %+v", *c, want)
	}
	_, err = ParseConfig([]byte("model: resnet\nlayers: 50\n"), "config.yaml")
	if !errors.Is(err, ErrNotCheckpoint) || !strings.Contains(err.Error(), "config.yaml: lacks sample_rate") {
		t.Fatalf("got %v", err)
	}
	_, err = ParseConfig([]byte("sample_rate: fast\n"), "config.yaml")
	if err == nil || !strings.Contains(err.Error(), "line 1: sample_rate") {
		t.Fatalf("got %v", err)
	}
}
