package cli

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/viettts-studio/studio/backend/document"
	"github.com/viettts-studio/studio/backend/textnorm"
	"github.com/viettts-studio/studio/backend/textnorm/segment"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/ort"
	"github.com/viettts-studio/studio/inference/viettts"
)

// bundleDirName is the folder of the installed model under the models directory.
const bundleDirName = "viettts"

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
		ortLib:   fs.String("onnxruntime", "", "ONNX Runtime library to load (default: search; see `viettts-studio doctor`)"),
	}
}

func (f *engineFlags) bundleDir(env *Env) string {
	if *f.bundle != "" {
		return *f.bundle
	}
	return filepath.Join(env.Dirs.Models, bundleDirName)
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

// pauseSeconds is the silence convert puts after a segment, by the pause that follows it.
var pauseSeconds = map[segment.Pause]float64{
	segment.PauseClause:    0.15,
	segment.PauseSentence:  0.3,
	segment.PauseParagraph: 0.6,
	segment.PauseChapter:   1.2,
}

func convertCommand() Command {
	const synopsis = "[flags] FILE"
	return Command{
		Name:    "convert",
		Summary: "narrate a document (txt md html docx odt epub pdf srt) into a WAV file",
		Usage:   synopsis,
		Run: func(ctx context.Context, env *Env, args []string) int {
			fs := newFlags(env, "convert", synopsis)
			ef := addEngineFlags(fs)
			voice := fs.String("voice", "", "voice id (default: the first voice; `viettts-studio voices` lists them)")
			seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same audio")
			speed := fs.Float64("speed", 1, "speaking speed, 0.5-2")
			out := fs.String("out", "", "output WAV file (default: FILE with .wav)")
			maxSpeech := fs.Int("max-speech-tokens", 0, "cap the speech tokens of each segment (0: the model's own 20-per-text-token limit); for random-weight test models, which never stop on their own")
			if err := parseWithTrailingFlags(fs, args); err != nil {
				return 2
			}
			if fs.NArg() != 1 {
				fs.Usage()
				return 2
			}
			in := fs.Arg(0)
			dst := *out
			if dst == "" {
				dst = strings.TrimSuffix(in, filepath.Ext(in)) + ".wav"
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
			segs := documentSegments(doc, eng.Tokenizer())
			if len(segs) == 0 {
				return fail(fmt.Errorf("%s has no text to read", in))
			}
			fmt.Fprintf(env.Stderr, "convert: %q, %d chapters, %d segments, voice %s, on %s\n",
				doc.Title, len(doc.Chapters), len(segs), *voice, cfg.Provider)
			bar := newProgress(env.Stderr, len(segs))
			var pcm []float32
			start := time.Now()
			for i, s := range segs {
				a, err := eng.Synthesize(ctx, inference.Request{
					ID: fmt.Sprintf("%d", i+1), Text: s.Spoken, Voice: *voice, Speed: *speed, Seed: *seed,
				})
				if err != nil {
					bar.done()
					if inference.Classify(err) == inference.ClassCanceled {
						return fail(fmt.Errorf("canceled after %d of %d segments; nothing written", i, len(segs)))
					}
					return fail(fmt.Errorf("segment %d (%q): %w", i+1, s.Spoken, err))
				}
				pcm = append(pcm, a.Samples...)
				pcm = append(pcm, make([]float32, int(pauseSeconds[s.Pause]*inference.SampleRate))...)
				bar.update(i + 1)
			}
			bar.done()
			if err := writeWAV(dst, pcm, inference.SampleRate); err != nil {
				return fail(err)
			}
			took := time.Since(start)
			secs := float64(len(pcm)) / inference.SampleRate
			fmt.Fprintf(env.Stderr, "convert: wrote %s: %s of audio in %s (%.2f× real time)\n",
				dst, fmtDuration(time.Duration(secs*float64(time.Second))), fmtDuration(took), took.Seconds()/secs)
			return 0
		},
	}
}

// parseWithTrailingFlags parses flags that may come before or after the positional arguments.
func parseWithTrailingFlags(fs interface {
	Parse([]string) error
	Args() []string
}, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// convertSegment is one segment of a document with the pause after it.
type convertSegment struct {
	Spoken string
	Pause  segment.Pause
}

// documentSegments normalizes each block of doc and cuts it into synthesis segments, marking the
// end of each block as a paragraph and the end of each chapter as a chapter.
func documentSegments(doc *document.Document, tok segment.TokenCounter) []convertSegment {
	norm := textnorm.New(textnorm.Options{})
	var out []convertSegment
	for _, ch := range doc.Chapters {
		blocks := ch.Blocks
		if ch.Title != "" {
			blocks = append([]document.Block{{Kind: document.Heading, Text: ch.Title}}, blocks...)
		}
		for bi, b := range blocks {
			last := segment.PauseParagraph
			if bi == len(blocks)-1 {
				last = segment.PauseChapter
			}
			for _, s := range segment.Split(norm.Normalize(b.Text), tok, segment.Options{Last: last}) {
				if strings.TrimSpace(s.Spoken) != "" {
					out = append(out, convertSegment{Spoken: s.Spoken, Pause: s.Pause})
				}
			}
		}
	}
	return out
}

// writeWAV writes mono float samples as 16-bit PCM WAV, atomically (temp file, sync, rename).
func writeWAV(path string, pcm []float32, rate int) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".convert-*.wav")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	data := uint32(len(pcm) * 2)
	hdr := []any{[]byte("RIFF"), 36 + data, []byte("WAVEfmt "), uint32(16), uint16(1), uint16(1), uint32(rate),
		uint32(rate * 2), uint16(2), uint16(16), []byte("data"), data}
	for _, v := range hdr {
		binary.Write(w, binary.LittleEndian, v)
	}
	buf := make([]byte, 2)
	for _, s := range pcm {
		v := math.Round(float64(s) * 32767)
		v = math.Max(-32768, math.Min(32767, v))
		binary.LittleEndian.PutUint16(buf, uint16(int16(v)))
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w (is the disk full?)", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
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
