package compiler

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/checkpoint"
)

// Version identifies the compiler's output: bump it whenever a graph changes, so bundles built by
// an older compiler can be told apart (the manifest records it).
const Version = "2"

// ModelID is the id recorded for bundles compiled from the published checkpoint.
const ModelID = "dangvansam/viet-tts"

// LicenseID is the licence of the published VietTTS weights (the viet-tts README: "Pre-trained
// models and audio samples are licensed under the CC BY-NC License").
const LicenseID = "CC-BY-NC-4.0"

// Checkpoint file names, as published.
const (
	FileLLM             = "llm.pt"
	FileFlow            = "flow.pt"
	FileHiFT            = "hift.pt"
	FileConfig          = "config.yaml"
	FileSpeechTokenizer = "speech_tokenizer.onnx"
	FileSpeechEmbedding = "speech_embedding.onnx"
	FileTokenizer       = "multilingual.tiktoken"
)

// Source says where the official files are.
type Source struct {
	// Dir holds llm.pt, flow.pt, hift.pt and config.yaml, and usually speech_tokenizer.onnx,
	// speech_embedding.onnx, multilingual.tiktoken and the voice samples (samples/ or voices/).
	Dir string
	// Tokenizer is the path of the tokenizer ranks file when it is not Dir/multilingual.tiktoken.
	Tokenizer string
	// Voices is the folder of voice samples when it is neither Dir/samples nor Dir/voices.
	Voices string
}

// Options tune a compilation.
type Options struct {
	// Dims are the model's dimensions; zero means FullDims (the published model).
	Dims *Dims
	// NoFP16 skips the fp16 variant of llm_decode (GPU-only; CPU runs the fp32 graph).
	NoFP16 bool
	// Progress, when set, is told each step as it starts (step counts from 1 to total).
	Progress func(step, total int, what string)
	// Force rebuilds even when the bundle in the output folder was already built from the same
	// files by this compiler.
	Force bool
	// Log receives progress and timings; nil uses slog.Default().
	Log *slog.Logger
}

func (o Options) dims() Dims {
	if o.Dims != nil {
		return *o.Dims
	}
	return FullDims()
}

func (o Options) log() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.Default()
}

// graphJob builds one graph of the bundle from one checkpoint's weights.
type graphJob struct {
	name      string // bundle graph name (MODEL.md §1)
	part      string // which checkpoint: FileLLM, FileFlow or FileHiFT
	precision string
	write     func(out io.Writer, w Weights, d Dims) (int64, error)
}

// streamed adapts a streaming graph writer with a precision flag.
func streamed(f func(io.Writer, Weights, Dims, bool) (int64, error), fp16 bool) func(io.Writer, Weights, Dims) (int64, error) {
	return func(out io.Writer, w Weights, d Dims) (int64, error) { return f(out, w, d, fp16) }
}

// built adapts a graph builder that returns the whole model.
func built(f func(Weights, Dims) ([]byte, error)) func(io.Writer, Weights, Dims) (int64, error) {
	return func(out io.Writer, w Weights, d Dims) (int64, error) {
		model, err := f(w, d)
		if err != nil {
			return 0, err
		}
		n, err := out.Write(model)
		return int64(n), err
	}
}

// graphJobs lists every graph the compiler builds, in build order.
func graphJobs(opts Options) []graphJob {
	jobs := []graphJob{
		{bundle.GraphLLMPrefill, FileLLM, "fp32", streamed(WriteLLMPrefill, false)},
		{bundle.GraphLLMDecode, FileLLM, "fp32", streamed(WriteLLMDecode, false)},
	}
	if !opts.NoFP16 {
		jobs = append(jobs,
			graphJob{bundle.GraphLLMPrefillFP16, FileLLM, "fp16", streamed(WriteLLMPrefill, true)},
			graphJob{bundle.GraphLLMDecodeFP16, FileLLM, "fp16", streamed(WriteLLMDecode, true)})
	}
	return append(jobs,
		graphJob{bundle.GraphFlowEncoder, FileFlow, "fp32", built(BuildFlowEncoder)},
		graphJob{bundle.GraphFlowEstimator, FileFlow, "fp32", built(BuildFlowEstimator)},
		graphJob{bundle.GraphHiFT, FileHiFT, "fp32", built(BuildHiFT)},
	)
}

// partSpecs returns the expected tensors of each checkpoint file for d, as stored (HiFT with its
// weight-norm pairs).
func partSpecs(d Dims) map[string][]ParamSpec {
	return map[string][]ParamSpec{
		FileLLM:  LLMSpecs(d),
		FileFlow: FlowSpecs(d),
		FileHiFT: HiFTCheckpointSpecs(d),
	}
}

// parts are the checkpoint files in checking order.
var parts = []string{FileLLM, FileFlow, FileHiFT}

// errUpToDate stops a compile whose result is already installed.
var errUpToDate = errors.New("bundle is up to date")

// upToDate reports whether the bundle in outDir was built by this compiler, with these dims and
// options, from sources and extras with the same hashes: then an install has nothing to do (a
// download that is run again after it finished, for example).
func upToDate(ctx context.Context, outDir string, m *bundle.Manifest, d Dims, opts Options, extras []extra) bool {
	b, err := bundle.Open(outDir)
	if err != nil {
		return false
	}
	old := b.Manifest
	if old.Random || old.Compiler != Version || old.ModelID != m.ModelID || !slices.Equal(old.Sources, m.Sources) {
		return false
	}
	if od, err := DimsOf(old); err != nil || !dimsEqual(od, d) {
		return false
	}
	var want []string
	for _, j := range graphJobs(opts) {
		want = append(want, j.name)
	}
	have := map[string]bundle.File{}
	for _, g := range old.Graphs {
		have[g.Path] = g.File
	}
	for _, f := range old.Files {
		have[f.Path] = f
	}
	for _, e := range extras {
		want = append(want, e.graph)
		f, ok := have[e.rel]
		if !ok {
			return false
		}
		sum, size, err := bundle.HashFile(ctx, e.src)
		if err != nil || size != f.Size || sum != f.SHA256 {
			return false
		}
	}
	got := old.GraphNames()
	want = slices.DeleteFunc(want, func(s string) bool { return s == "" })
	slices.Sort(want)
	return slices.Equal(got, want) && len(old.Files)-1 == countFiles(extras)
}

// countFiles is the number of extras that are plain files (not graphs).
func countFiles(extras []extra) int {
	n := 0
	for _, e := range extras {
		if e.graph == "" {
			n++
		}
	}
	return n
}

// ErrConfigMismatch is wrapped by Compile when config.yaml describes a different model.
var ErrConfigMismatch = errors.New("config.yaml describes a different model")

// Compile validates the official checkpoint in src against the specs of opts.Dims, builds every
// graph, and writes a bundle to outDir atomically: everything goes to outDir.partial first and is
// moved into place only when complete, so an interrupted or failed compile never leaves a bundle
// that looks good (and keeps a bundle already in outDir until the new one is ready).
func Compile(ctx context.Context, src Source, outDir string, opts Options) (*bundle.Manifest, error) {
	d := opts.dims()
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("model dimensions: %w", err)
	}
	log := opts.log()
	start := time.Now()
	cfgPath := filepath.Join(src.Dir, FileConfig)
	cfg, err := checkpoint.ReadConfig(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("%w (expected the official files in %s)", err, src.Dir)
	}
	if err := checkConfig(cfg, d); err != nil {
		return nil, err
	}
	specs := partSpecs(d)
	sds := map[string]*checkpoint.StateDict{}
	defer func() {
		for _, sd := range sds {
			sd.Close()
		}
	}()
	// Check all three files before building anything: a wrong file fails in seconds.
	for _, p := range parts {
		sd, err := checkpoint.Open(filepath.Join(src.Dir, p))
		if err != nil {
			return nil, err
		}
		sds[p] = sd
		if s, ok := specs[p]; ok {
			if err := CheckSpecs(sd, s); err != nil {
				return nil, err
			}
		}
	}
	weights := func(part string) Weights {
		if part == FileHiFT {
			return checkpoint.FoldWeightNorm(sds[part])
		}
		return sds[part]
	}
	m := &bundle.Manifest{ModelID: ModelID, Compiler: Version, License: LicenseID}
	extras, err := findExtras(src)
	if err != nil {
		return nil, err
	}
	m, err = write(ctx, outDir, m, d, opts, weights, extras, func(w *bundle.Writer, step func(string)) error {
		for _, p := range append(slices.Clone(parts), FileConfig) {
			step("hashing " + p)
			sum, size, err := bundle.HashFile(ctx, filepath.Join(src.Dir, p))
			if err != nil {
				return fmt.Errorf("cannot read %s: %w", p, err)
			}
			m.Sources = append(m.Sources, bundle.File{Path: p, Size: size, SHA256: sum})
		}
		if !opts.Force && upToDate(ctx, outDir, m, d, opts, extras) {
			return errUpToDate
		}
		fw, err := w.CreateFile("LICENSE.txt", bundle.RoleLicense)
		if err != nil {
			return err
		}
		io.WriteString(fw, licenseText)
		if err := fw.Close(); err != nil {
			return err
		}
		m.LicenseFile = "LICENSE.txt"
		return nil
	})
	if errors.Is(err, errUpToDate) {
		existing, rerr := bundle.ReadManifest(outDir)
		if rerr == nil {
			log.Info("model already installed from these files; nothing to do", "out", outDir)
			return existing, nil
		}
		err = rerr
	}
	if err != nil {
		return nil, err
	}
	log.Info("model compiled", "out", outDir, "graphs", len(m.Graphs), "took", time.Since(start).Round(time.Millisecond))
	return m, nil
}

// CompileRandom writes a bundle of random weights with dimensions d (TinyDims for tests,
// FullDims for benchmarks), deterministic in seed. The tokenizer and voices come from src when
// its paths are set (a random bundle needs no checkpoint); otherwise the bundle has none.
func CompileRandom(ctx context.Context, d Dims, seed uint64, outDir string, src Source, opts Options) (*bundle.Manifest, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("model dimensions: %w", err)
	}
	opts.Dims = &d
	specs := partSpecs(d)
	weights := func(part string) Weights {
		w := RandomWeights(specs[part], seed, nil)
		if part == FileHiFT {
			return checkpoint.FoldWeightNorm(w.(checkpoint.Source))
		}
		return w
	}
	id := "random"
	switch {
	case dimsEqual(d, TinyDims()):
		id = "random-tiny"
	case dimsEqual(d, FullDims()):
		id = "random-full"
	}
	m := &bundle.Manifest{ModelID: id, Compiler: Version, Random: true, Seed: seed, License: "none"}
	var extras []extra
	if src.Dir != "" || src.Tokenizer != "" || src.Voices != "" {
		var err error
		if extras, err = findExtras(src); err != nil {
			return nil, err
		}
	}
	return write(ctx, outDir, m, d, opts, weights, extras, nil)
}

func dimsEqual(a, b Dims) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// extra is a file copied into the bundle as is.
type extra struct {
	src, rel, role, graph string
}

// findExtras locates the tokenizer, the publisher's two ONNX models and the voice samples.
// None is required by the compiler itself; the runtime reports what it misses.
func findExtras(src Source) ([]extra, error) {
	var out []extra
	tok := src.Tokenizer
	if tok == "" && src.Dir != "" {
		for _, name := range []string{FileTokenizer, "tokenizer.tiktoken"} {
			if p := filepath.Join(src.Dir, name); fileExists(p) {
				tok = p
				break
			}
		}
	}
	if tok != "" {
		if !fileExists(tok) {
			return nil, fmt.Errorf("tokenizer file %s does not exist", tok)
		}
		out = append(out, extra{tok, "tokenizer.tiktoken", bundle.RoleTokenizer, ""})
	}
	if src.Dir != "" {
		for _, f := range []struct{ name, graph string }{
			{FileSpeechTokenizer, bundle.GraphSpeechTokenize},
			{FileSpeechEmbedding, bundle.GraphSpeakerEmbed},
		} {
			if p := filepath.Join(src.Dir, f.name); fileExists(p) {
				out = append(out, extra{p, f.name, "", f.graph})
			}
		}
	}
	vdir := src.Voices
	if vdir == "" && src.Dir != "" {
		for _, name := range []string{"samples", "voices"} {
			if st, err := os.Stat(filepath.Join(src.Dir, name)); err == nil && st.IsDir() {
				vdir = filepath.Join(src.Dir, name)
				break
			}
		}
	}
	if vdir != "" {
		entries, err := os.ReadDir(vdir)
		if err != nil {
			return nil, fmt.Errorf("cannot read the voice folder %s: %w", vdir, err)
		}
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if e.IsDir() || (ext != ".wav" && ext != ".mp3" && ext != ".flac" && ext != ".bin") {
				continue
			}
			out = append(out, extra{filepath.Join(vdir, e.Name()), "voices/" + e.Name(), bundle.RoleVoice, ""})
		}
	}
	return out, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// write builds every graph and copies the extras into a new bundle at outDir. before, when set,
// runs first inside the staging folder (hashing sources, writing the licence).
func write(ctx context.Context, outDir string, m *bundle.Manifest, d Dims, opts Options,
	weights func(part string) Weights, extras []extra, before func(*bundle.Writer, func(string)) error) (*bundle.Manifest, error) {
	log := opts.log()
	jobs := graphJobs(opts)
	total := len(jobs) + len(extras) + 1
	if before != nil {
		total += len(parts) + 1
	}
	n := 0
	step := func(what string) {
		n++
		log.Debug("compile", "step", n, "of", total, "what", what)
		if opts.Progress != nil {
			opts.Progress(n, total, what)
		}
	}
	w, err := bundle.Create(outDir)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			w.Abort()
		}
	}()
	if before != nil {
		if err := before(w, step); err != nil {
			return nil, err
		}
	}
	dims, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	m.Dims = dims
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		step("building " + j.name)
		t0 := time.Now()
		fw, err := w.CreateGraph(j.name, j.precision)
		if err != nil {
			return nil, err
		}
		bw := bufio.NewWriterSize(fw, 4<<20)
		_, err = j.write(bw, weights(j.part), d)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			fw.Close()
			return nil, fmt.Errorf("building graph %s from %s: %w", j.name, j.part, err)
		}
		if err := fw.Close(); err != nil {
			return nil, err
		}
		log.Info("graph built", "graph", j.name, "precision", j.precision, "took", time.Since(t0).Round(time.Millisecond))
		// Hand the graph's memory back before the next one: the largest graphs are over 1 GB.
		runtime.GC()
		debug.FreeOSMemory()
	}
	for _, e := range extras {
		step("copying " + filepath.Base(e.src))
		if _, err := w.CopyFile(ctx, e.src, e.rel, e.role, e.graph, nil); err != nil {
			return nil, err
		}
		switch {
		case e.role == bundle.RoleTokenizer:
			m.Tokenizer = e.rel
		case e.role == bundle.RoleVoice:
			id := strings.TrimSuffix(filepath.Base(e.rel), filepath.Ext(e.rel))
			m.Voices = append(m.Voices, bundle.Voice{ID: id, Path: e.rel})
		}
	}
	step("writing the manifest")
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := w.Commit(m); err != nil {
		return nil, err
	}
	ok = true
	return m, nil
}

// checkConfig compares config.yaml's sizes with the dimensions the compiler builds.
func checkConfig(c *checkpoint.Config, d Dims) error {
	type field struct {
		name      string
		got, want int
	}
	fields := []field{
		{"sample_rate", c.SampleRate, d.SampleRate},
		{"text_token_size", c.TextTokenSize, d.LLM.TextVocab},
		{"speech_token_size", c.SpeechTokenSize, d.SpeechTokens},
		{"spk_embed_dim", c.SpkEmbedDim, d.SpeakerEmbed},
		{"text_encoder_input_size", c.TextEncoderInputSize, d.LLM.TextEmbed},
		{"llm_input_size", c.LLMInputSize, d.LLM.Model},
		{"llm_output_size", c.LLMOutputSize, d.LLM.Model},
	}
	var bad []string
	for _, f := range fields {
		if c.Has(f.name) && f.got != f.want {
			bad = append(bad, fmt.Sprintf("%s is %d, expected %d", f.name, f.got, f.want))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: %w: %s; is it VietTTS's config.yaml (CosyVoice-300M-25Hz)?", FileConfig, ErrConfigMismatch, strings.Join(bad, "; "))
	}
	return nil
}

// DimsOf decodes the dimensions stored in a bundle manifest.
func DimsOf(m *bundle.Manifest) (Dims, error) {
	var d Dims
	if err := json.Unmarshal(m.Dims, &d); err != nil {
		return Dims{}, fmt.Errorf("model manifest has unreadable dimensions (%v): reinstall the model", err)
	}
	return d, d.Validate()
}

// licenseText is written into bundles compiled from the published weights.
const licenseText = `VietTTS model weights (dangvansam/viet-tts)

The publisher's README states that the pre-trained models and audio samples are licensed under
the Creative Commons Attribution-NonCommercial licence (CC BY-NC); the Hugging Face model card
lists apache-2.0. Until this is clarified, treat the weights, everything compiled from them in
this folder, and audio made with them as non-commercial use only, with attribution.

https://github.com/dangvansam/viet-tts
https://huggingface.co/dangvansam/viet-tts
https://creativecommons.org/licenses/by-nc/4.0/
`
