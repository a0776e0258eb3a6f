package cli

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/viettts-studio/studio/backend/narration"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/viettts-studio/studio/backend/audio"
	"github.com/viettts-studio/studio/backend/document"
	"github.com/viettts-studio/studio/backend/textnorm"
	"github.com/viettts-studio/studio/backend/textnorm/segment"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/ort"
	"github.com/viettts-studio/studio/inference/viettts"
)

// engineFlags are the flags every command that synthesizes shares.
type engineFlags struct {
	bundle   *string
	provider *string
	device   *int
	threads  *int
	ortLib   *string
}

func addEngineFlags(fs interface {
	String(name, value, usage string) *string
	Int(name string, value int, usage string) *int
}) *engineFlags {
	return &engineFlags{
		bundle:   fs.String("bundle", "", "model bundle folder (default: the installed model)"),
		provider: fs.String("provider", "auto", "where to run: auto (CUDA, then DirectML, then CPU), cuda, directml or cpu"),
		device:   fs.Int("device", 0, "GPU index for cuda and directml"),
		threads:  fs.Int("threads", 0, "CPU threads per instance (0: all cores)"),
		ortLib:   fs.String("onnxruntime", "", "ONNX Runtime library to load (default: search; viettts-studio doctor shows where)"),
	}
}

func (f *engineFlags) bundleDir(env *Env) string {
	if *f.bundle != "" {
		return *f.bundle
	}
	return env.Dirs.Model()
}

// session initializes ONNX Runtime and resolves the provider to run on.
func (f *engineFlags) session(instances int) (ort.SessionConfig, error) {
	if err := ort.Init(*f.ortLib); err != nil {
		return ort.SessionConfig{}, err
	}
	cfg := ort.SessionConfig{DeviceID: *f.device, Threads: *f.threads}
	switch p := ort.Provider(strings.ToLower(*f.provider)); p {
	case "auto", "":
		cfg.Provider = ort.Select(ort.Probe(*f.device))
	case ort.CPU, ort.CUDA, ort.DirectML:
		if p != ort.CPU {
			for _, st := range ort.Probe(*f.device) {
				if st.Provider == p && !st.Available {
					return cfg, fmt.Errorf("%w: %s: %s; %s", ort.ErrProviderUnavailable, p, st.Reason, st.Fix)
				}
			}
		}
		cfg.Provider = p
	default:
		return cfg, fmt.Errorf("unknown provider %q: use auto, cuda, directml or cpu", *f.provider)
	}
	if cfg.Provider == ort.CPU && cfg.Threads == 0 && instances > 1 {
		cfg.Threads = max(1, runtime.NumCPU()/instances)
	}
	return cfg, nil
}

func (f *engineFlags) open(ctx context.Context, env *Env, cfg ort.SessionConfig, maxSpeech int) (*viettts.Engine, error) {
	return viettts.New(ctx, f.bundleDir(env), viettts.Options{
		Session:         cfg,
		MaxSpeechTokens: maxSpeech,
		FP16:            cfg.Provider != ort.CPU,
		VoiceDirs:       []string{env.Dirs.Voices},
		VoiceCache:      filepath.Join(env.Dirs.Cache, "voices"),
	})
}

func convertCommand() Command {
	const synopsis = "[flags] FILE"
	return Command{
		Name:    "convert",
		Summary: "narrate a document (txt md html docx odt epub pdf srt) into audio (mp3 m4b opus flac wav)",
		Usage:   synopsis,
		Run: func(ctx context.Context, env *Env, args []string) int {
			fs := newFlags(env, "convert", synopsis)
			ef := addEngineFlags(fs)
			voice := fs.String("voice", "", "voice id (default: the first voice; viettts-studio voices lists them)")
			seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same audio")
			speed := fs.Float64("speed", 1, "speaking speed, 0.5-2")
			out := fs.String("out", "", "output file (default: FILE with the format's extension)")
			xf := registerExportFlags(fs)
			maxSpeech := fs.Int("max-speech-tokens", 0, "cap the speech tokens of each segment (0: the model's own 20-per-text-token limit); for random-weight test models, which never stop on their own")
			if err := parseInterspersed(fs, args); err != nil {
				return parseExit(err)
			}
			if fs.NArg() != 1 {
				fs.Usage()
				return 2
			}
			in := fs.Arg(0)
			dst := *out
			if dst == "" {
				dst = strings.TrimSuffix(in, filepath.Ext(in)) + "." + strings.ToLower(xf.format)
			}
			if _, err := xf.options(); err != nil {
				fmt.Fprintf(env.Stderr, "convert: %v\n", err)
				return 2
			}
			fail := func(err error) int {
				fmt.Fprintf(env.Stderr, "convert: %v\n", err)
				return 1
			}
			doc, err := document.Import(ctx, in, document.Options{})
			if err != nil {
				return fail(err)
			}
			cfg, err := ef.session(1)
			if err != nil {
				return fail(err)
			}
			eng, err := ef.open(ctx, env, cfg, *maxSpeech)
			if err != nil {
				return fail(err)
			}
			defer eng.Close()
			if *voice == "" {
				vs := eng.Voices()
				if len(vs) == 0 {
					return fail(errors.New("the model has no voices: add one with `viettts-studio voices add NAME CLIP`"))
				}
				*voice = vs[0].ID
			}
			chapters := documentSegments(doc, eng.Tokenizer())
			total := 0
			for _, c := range chapters {
				total += len(c.Segments)
			}
			if total == 0 {
				return fail(fmt.Errorf("%s has no text to read", in))
			}
			fmt.Fprintf(env.Stderr, "convert: %q, %d chapters, %d segments, voice %s, on %s\n",
				doc.Title, len(chapters), total, *voice, cfg.Provider)
			tmp, err := os.MkdirTemp("", "viettts-convert-")
			if err != nil {
				return fail(err)
			}
			defer os.RemoveAll(tmp)
			book := &audio.Book{Title: doc.Title, Author: doc.Author}
			bar := newProgress(env.Stderr, total)
			start := time.Now()
			var secs float64
			n := 0
			for _, c := range chapters {
				ch := audio.Chapter{Title: c.Title}
				for _, s := range c.Segments {
					n++
					a, err := eng.Synthesize(ctx, inference.Request{
						ID: strconv.Itoa(n), Text: s.Spoken, Voice: *voice, Speed: *speed, Seed: *seed,
					})
					if err != nil {
						bar.done()
						if inference.Classify(err) == inference.ClassCanceled {
							return fail(fmt.Errorf("canceled after %d of %d segments; nothing written", n-1, total))
						}
						return fail(fmt.Errorf("segment %d (%q): %w", n, s.Spoken, err))
					}
					src, err := spill(tmp, n, a.Samples)
					if err != nil {
						return fail(err)
					}
					secs += a.Seconds()
					ch.Segments = append(ch.Segments, audio.Segment{ID: strconv.Itoa(n), Text: s.Source, Break: narration.AudioBreak(s.Pause), Audio: src})
					bar.update(n)
				}
				book.Chapters = append(book.Chapters, ch)
			}
			bar.done()
			took := time.Since(start)
			fmt.Fprintf(env.Stderr, "convert: synthesized %s of speech in %s (%.2f× real time); exporting\n",
				fmtDuration(time.Duration(secs*float64(time.Second))), fmtDuration(took), took.Seconds()/secs)
			if err := xf.exportBook(ctx, env, book, dst); err != nil {
				return fail(err)
			}
			return 0
		},
	}
}

// spill writes a segment's samples to dir and returns a source that reads them back (the export
// reads every segment twice and must not hold the whole book in memory).
func spill(dir string, n int, pcm []float32) (audio.Source, error) {
	path := filepath.Join(dir, strconv.Itoa(n)+".f32")
	buf := make([]byte, 4*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(path, buf, 0o600); err != nil {
		return nil, fmt.Errorf("cannot keep segment audio in %s: %w (is the disk full?)", dir, err)
	}
	return audio.SourceFunc(func(ctx context.Context) ([]float32, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, nil
	}), nil
}

// documentSegments is what convert narrates: the document as the app reads it (narration.Plan,
// chapter titles read aloud), without the chapters that have nothing to say.
func documentSegments(doc *document.Document, tok segment.TokenCounter) []narration.Chapter {
	var out []narration.Chapter
	for _, c := range narration.Plan(doc, textnorm.New(textnorm.Options{}), tok, narration.Options{ReadTitles: true}) {
		if len(c.Segments) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// progress draws a bar with an ETA on a terminal and stays silent elsewhere.
type progress struct {
	w     io.Writer
	total int
	start time.Time
	on    bool
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, start: time.Now(), on: isTerminal(w)}
}

func (p *progress) update(done int) {
	if !p.on {
		return
	}
	const width = 30
	n := done * width / max(1, p.total)
	eta := "…"
	if done > 0 {
		left := time.Duration(float64(time.Since(p.start)) / float64(done) * float64(p.total-done))
		eta = fmtDuration(left)
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d segments, ETA %s   ", strings.Repeat("=", n), strings.Repeat(" ", width-n), done, p.total, eta)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}

func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	case d >= time.Minute:
		return d.Round(time.Second).String()
	}
	return d.Round(10 * time.Millisecond).String()
}
