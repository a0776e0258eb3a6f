package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/viettts-studio/studio/inference/tinymodel"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/compiler"
	"github.com/viettts-studio/studio/inference/ort"
	"github.com/viettts-studio/studio/inference/viettts"
)

// benchText is a typical segment: 30 text tokens of Vietnamese.
const benchText = "Hôm nay trời trong xanh, chúng tôi đi dạo quanh hồ và nghe tiếng chim hót."

// benchKs are the cache lengths the decode step is timed at.
var benchKs = []int{50, 150, 300, 600}

func benchCommand() Command {
	const synopsis = "[flags]"
	return Command{
		Name:    "bench",
		Summary: "time the synthesis stages, real-time factor, memory and throughput per instance count",
		Usage:   synopsis,
		Run: func(ctx context.Context, env *Env, args []string) int {
			fs := newFlags(env, "bench", synopsis)
			ef := addEngineFlags(fs)
			dims := fs.String("dims", "", "benchmark a random-weight bundle of this size instead of a model: tiny or full (compiled once into the cache)")
			tokFile := fs.String("tokenizer", "", "tokenizer ranks for --dims bundles (default: .cache/tokenizer/multilingual.tiktoken in the source tree)")
			instances := fs.String("instances", "1", "comma-separated instance counts to measure throughput at, e.g. 1,2")
			segments := fs.Int("segments", 3, "segments per measurement (0: time only the decode step by cache length)")
			speechTokens := fs.Int("speech-tokens", 125, "speech tokens per segment (125 = 5 s); random weights never stop on their own")
			decodeSteps := fs.Int("decode-steps", 5, "decode steps timed at each cache length")
			if err := fs.Parse(args); err != nil {
				return parseExit(err)
			}
			counts, err := parseCounts(*instances)
			if err != nil {
				fmt.Fprintf(env.Stderr, "bench: %v\n", err)
				return 2
			}
			b := &bench{env: env, ef: ef, segments: max(0, *segments), speechTokens: *speechTokens, decodeSteps: max(1, *decodeSteps)}
			if *dims != "" {
				dir, err := randomBundle(ctx, env, *dims, *tokFile)
				if err != nil {
					fmt.Fprintf(env.Stderr, "bench: %v\n", err)
					return 1
				}
				*ef.bundle = dir
			}
			if err := b.run(ctx, counts); err != nil {
				fmt.Fprintf(env.Stderr, "bench: %v\n", err)
				return 1
			}
			return 0
		},
	}
}

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 16 {
			return nil, fmt.Errorf("--instances %q: want counts between 1 and 16, e.g. 1,2", s)
		}
		out = append(out, n)
	}
	return out, nil
}

type bench struct {
	env                                 *Env
	ef                                  *engineFlags
	segments, speechTokens, decodeSteps int
}

func (b *bench) open(ctx context.Context, cfg ort.SessionConfig) (*viettts.Engine, error) {
	return viettts.New(ctx, b.ef.bundleDir(b.env), viettts.Options{
		Session: cfg, FP16: cfg.Provider != ort.CPU, MaxSpeechTokens: b.speechTokens,
		VoiceDirs: []string{b.env.Dirs.Voices}, VoiceCache: filepath.Join(b.env.Dirs.Cache, "voices"),
	})
}

func (b *bench) run(ctx context.Context, counts []int) error {
	out := b.env.Stdout
	cfg, err := b.ef.session(1)
	if err != nil {
		return err
	}
	eng, err := b.open(ctx, cfg)
	if err != nil {
		return err
	}
	voices := eng.Voices()
	if len(voices) == 0 {
		eng.Close()
		return errors.New("the bundle has no voices")
	}
	voice := voices[0].ID
	threads := "all cores"
	if cfg.Threads > 0 {
		threads = strconv.Itoa(cfg.Threads)
	}
	fmt.Fprintf(out, "bundle %s, provider %s (threads %s), voice %s (prompt %d tokens), %d segments of %d text tokens × %d speech tokens\n\n",
		b.ef.bundleDir(b.env), cfg.Provider, threads, voice, len(voices[0].Tokens), b.segments,
		eng.Tokenizer().CountTokens(benchText), b.speechTokens)

	if b.segments == 0 {
		defer eng.Close()
		return b.decodeTable(ctx, eng)
	}
	// Warm up (first runs allocate arenas), then measure one instance stage by stage.
	if _, err := eng.Synthesize(ctx, b.request(0, voice)); err != nil {
		eng.Close()
		return err
	}
	eng.ResetStats()
	for i := range b.segments {
		if _, err := eng.Synthesize(ctx, b.request(i+1, voice)); err != nil {
			eng.Close()
			return err
		}
	}
	s := eng.Stats()
	if err := b.decodeTable(ctx, eng); err != nil {
		eng.Close()
		return err
	}
	eng.Close()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tcalls\ttotal\tper call\tshare\t")
	row := func(name string, calls int, d time.Duration) {
		per := time.Duration(0)
		if calls > 0 {
			per = d / time.Duration(calls)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.1f%%\t\n", name, calls, round(d), round(per), 100*d.Seconds()/s.Wall.Seconds())
	}
	row("llm prefill", s.Prefills, s.Prefill)
	row("llm decode (per token)", s.DecodeSteps, s.Decode)
	row("flow encoder", s.Segments, s.FlowEncoder)
	row("flow estimator (per step)", s.EstimatorSteps, s.Estimator)
	row("vocoder", s.Vocodes, s.Vocoder)
	row("host code outside ORT", s.Segments, s.Host())
	row("whole segments", s.Segments, s.Wall)
	tw.Flush()
	fmt.Fprintf(out, "\naudio %.1f s in %s: RTF %.3f (%.2f s of audio per second)\n", s.AudioSeconds, round(s.Wall), s.RTF(), 1/s.RTF())
	fmt.Fprintf(out, "host code outside ONNX Runtime: %.2f%% of synthesis wall time\n\n", 100*s.Host().Seconds()/s.Wall.Seconds())

	fmt.Fprintln(out, "throughput by instance count (each instance its own sessions; CPU threads split between them):")
	for _, n := range counts {
		audio, wall, err := b.throughput(ctx, n)
		if err != nil {
			return fmt.Errorf("%d instances: %w", n, err)
		}
		fmt.Fprintf(out, "  %d instance(s): %.2f s of audio per second (%.1f s in %s)\n", n, audio/wall.Seconds(), audio, round(wall))
	}
	if peak := peakRSS(); peak > 0 {
		fmt.Fprintf(out, "\npeak memory (resident): %.2f GiB\n", float64(peak)/(1<<30))
	}
	return nil
}

// decodeTable times the decode step at each of benchKs and prints it.
func (b *bench) decodeTable(ctx context.Context, eng *viettts.Engine) error {
	out := b.env.Stdout
	decode := map[int]viettts.DecodeTiming{}
	for _, k := range benchKs {
		d, err := eng.MeasureDecode(ctx, k, b.decodeSteps)
		if err != nil {
			return err
		}
		decode[k] = d
	}
	fmt.Fprintf(out, "llm decode step by cache length (mean of %d steps; step = ORT run + host cache append):\n", b.decodeSteps)
	base := decode[benchKs[0]]
	for _, k := range benchKs {
		d := decode[k]
		fmt.Fprintf(out, "  K=%-4d step %s (%.2f× K=%d)  run %s (%.2f×)  append %s\n", k, round(d.Step()),
			d.Step().Seconds()/base.Step().Seconds(), benchKs[0], round(d.Run), d.Run.Seconds()/base.Run.Seconds(), round(d.Append))
	}
	fmt.Fprintln(out)
	return nil
}

func (b *bench) request(i int, voice string) inference.Request {
	return inference.Request{ID: fmt.Sprintf("bench-%d", i), Text: benchText, Voice: voice, Speed: 1, Seed: uint64(i + 1)}
}

// throughput runs n instances side by side, each synthesizing b.segments segments, and returns the
// audio seconds made and the wall time of the measured part (after each instance's warm-up).
func (b *bench) throughput(ctx context.Context, n int) (float64, time.Duration, error) {
	cfg, err := b.ef.session(n)
	if err != nil {
		return 0, 0, err
	}
	engines := make([]*viettts.Engine, 0, n)
	defer func() {
		for _, e := range engines {
			e.Close()
		}
	}()
	for range n {
		e, err := b.open(ctx, cfg)
		if err != nil {
			return 0, 0, err
		}
		engines = append(engines, e)
	}
	voice := engines[0].Voices()[0].ID
	var wg sync.WaitGroup
	errs := make([]error, n)
	audio := make([]float64, n)
	ready := make(chan struct{})
	var warm sync.WaitGroup
	warm.Add(n)
	for i, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.Synthesize(ctx, b.request(0, voice))
			warm.Done()
			if err != nil {
				errs[i] = err
				return
			}
			<-ready
			for j := range b.segments {
				a, err := e.Synthesize(ctx, b.request(j+1, voice))
				if err != nil {
					errs[i] = err
					return
				}
				audio[i] += a.Seconds()
			}
		}()
	}
	warm.Wait()
	start := time.Now()
	close(ready)
	wg.Wait()
	wall := time.Since(start)
	var total float64
	for i := range engines {
		if errs[i] != nil {
			return 0, 0, errs[i]
		}
		total += audio[i]
	}
	return total, wall, nil
}

func round(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// peakRSS is the process's peak resident memory in bytes (Linux; 0 elsewhere).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// randomBundle returns a random-weight bundle of the named size, compiling it into the cache the
// first time, with the tokenizer ranks and one random 5 s voice.
func randomBundle(ctx context.Context, env *Env, size, tokFile string) (string, error) {
	d, err := compiler.Preset(size)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(env.Dirs.Cache, "bench", "random-"+size)
	if _, err := bundle.Open(dir); err == nil {
		return dir, nil
	}
	if tokFile == "" {
		tokFile = tinymodel.FindRanks()
	}
	if tokFile == "" {
		return "", errors.New("a random bundle needs the tokenizer ranks: pass --tokenizer multilingual.tiktoken (tools/fixtures/features/fetch_tokenizer.sh fetches it)")
	}
	fmt.Fprintf(env.Stderr, "bench: compiling a %s random-weight bundle into %s (once)\n", size, dir)
	err = tinymodel.Build(ctx, dir, tinymodel.Options{Dims: &d, Ranks: tokFile, Voices: []string{"random"}, VoiceTokens: 125,
		FP16: size != "tiny", Progress: func(step, total int, what string) {
			fmt.Fprintf(env.Stderr, "bench: [%d/%d] %s\n", step, total, what)
		}})
	if err != nil {
		return "", err
	}
	return dir, nil
}
