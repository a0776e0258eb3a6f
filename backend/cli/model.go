package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/viettts-studio/studio/backend/studio"
	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/bytesize"
	"github.com/viettts-studio/studio/inference/compiler"
	"github.com/viettts-studio/studio/inference/download"
)

// officialFiles lists what `model download` fetches; tests replace it to serve small files.
var officialFiles = download.Official

const modelUsage = `install --from DIR | download [--accept-license] | rebuild | remove-source | verify | info | build-random --dims tiny|full --out DIR`

func modelCommand() Command {
	return Command{
		Name:    "model",
		Summary: "install, download, rebuild, verify and describe the VietTTS model",
		Usage:   modelUsage,
		Run: func(ctx context.Context, env *Env, args []string) int {
			if len(args) == 0 {
				fmt.Fprintf(env.Stderr, "usage: viettts-studio model %s\n", modelUsage)
				return 2
			}
			sub, rest := args[0], args[1:]
			switch sub {
			case "install":
				return modelInstall(ctx, env, rest)
			case "download":
				return modelDownload(ctx, env, rest)
			case "rebuild":
				return modelRebuild(ctx, env, rest)
			case "remove-source":
				return modelRemoveSource(env, rest)
			case "verify":
				return modelVerify(ctx, env, rest)
			case "info":
				return modelInfo(env, rest)
			case "build-random":
				return modelBuildRandom(ctx, env, rest)
			case "-h", "--help", "help":
				fmt.Fprintf(env.Stdout, "usage: viettts-studio model %s\n", modelUsage)
				return 0
			}
			fmt.Fprintf(env.Stderr, "viettts-studio model: unknown subcommand %q\nusage: viettts-studio model %s\n", sub, modelUsage)
			return 2
		},
	}
}

// compileFlags are the options shared by install, download and build-random.
type compileFlags struct {
	dims   *string
	noFP16 *bool
}

func addCompileFlags(fs interface {
	String(string, string, string) *string
	Bool(string, bool, string) *bool
}) compileFlags {
	return compileFlags{
		dims:   fs.String("dims", "full", "model size the checkpoint has: full (the published model) or tiny (tests)"),
		noFP16: fs.Bool("no-fp16", false, "skip the fp16 LLM graphs (used on GPUs only)"),
	}
}

func (c compileFlags) options(env *Env) (compiler.Options, error) {
	d, err := compiler.Preset(*c.dims)
	if err != nil {
		return compiler.Options{}, err
	}
	p := newModelProgress(env)
	return compiler.Options{Dims: &d, NoFP16: *c.noFP16, Progress: p.step}, nil
}

func modelInstall(ctx context.Context, env *Env, args []string) int {
	fs := newFlags(env, "model install", "--from DIR [flags]")
	from := fs.String("from", "", "folder with the official files: llm.pt, flow.pt, hift.pt, config.yaml (and speech_tokenizer.onnx, speech_embedding.onnx, multilingual.tiktoken, samples/)")
	dir := fs.String("dir", "", "where to install the bundle (default: the app's model folder)")
	tok := fs.String("tokenizer", "", "tokenizer ranks file, when it is not DIR/multilingual.tiktoken")
	voices := fs.String("voices", "", "folder of voice samples, when it is not DIR/samples")
	cf := addCompileFlags(fs)
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	if *from == "" {
		fmt.Fprintln(env.Stderr, "viettts-studio model install: --from DIR is required (the folder with llm.pt, flow.pt, hift.pt and config.yaml)")
		return 2
	}
	opts, err := cf.options(env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "viettts-studio model install: %v\n", err)
		return 2
	}
	out := modelDir(env, *dir)
	src := compiler.Source{Dir: *from, Tokenizer: *tok, Voices: *voices}
	if code := compileInto(ctx, env, src, out, opts); code != 0 {
		return code
	}
	// The folder is not copied: it is the model's source, which `model rebuild` compiles again
	// after an update while it still holds the files.
	if err := studio.RecordSource(out, src, false); err != nil {
		fmt.Fprintf(env.Stderr, "viettts-studio model install: %v (a later `model rebuild` will not find %s)\n", err, *from)
	}
	return 0
}

func compileInto(ctx context.Context, env *Env, src compiler.Source, out string, opts compiler.Options) int {
	start := time.Now()
	m, err := compiler.Compile(ctx, src, out, opts)
	finishModelProgress(env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "viettts-studio model install: %v\n", err)
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(env.Stderr, "nothing was installed; run the command again to start over")
		}
		return 1
	}
	fmt.Fprintf(env.Stdout, "installed %s (%d graphs, %s) in %s in %s\n", m.ModelID, len(m.Graphs), bytesize.Format(m.Size()), out,
		time.Since(start).Round(time.Second))
	return 0
}

func modelDownload(ctx context.Context, env *Env, args []string) int {
	fs := newFlags(env, "model download", "[--accept-license] [flags]")
	accept := fs.Bool("accept-license", false, "accept the model's CC BY-NC licence without asking")
	dir := fs.String("dir", "", "where to install the bundle (default: the app's model folder)")
	keep := fs.Bool("keep-downloads", true, "keep the downloaded checkpoint after installing, so that `model rebuild` can compile it again after an update without downloading (--keep-downloads=false removes it)")
	cf := addCompileFlags(fs)
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	fmt.Fprint(env.Stderr, licenseNotice)
	if !*accept {
		if !modelReaderIsTerminal(env.Stdin) {
			fmt.Fprintln(env.Stderr, "viettts-studio model download: the licence was not accepted: run again with --accept-license to accept it")
			return 2
		}
		fmt.Fprint(env.Stderr, "Type yes to accept the licence and download about 2.3 GB: ")
		line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "yes" && a != "y" {
			fmt.Fprintln(env.Stderr, "not accepted; nothing was downloaded")
			return 1
		}
	}
	opts, err := cf.options(env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "viettts-studio model download: %v\n", err)
		return 2
	}
	endpoint := os.Getenv("HF_ENDPOINT")
	files := officialFiles(endpoint, os.Getenv("VIETTTS_TOKENIZER_URL"))
	dl := studio.ModelDownloads(env.Dirs)
	p := newModelProgress(env)
	c := &download.Client{Progress: p.bytes}
	for _, f := range files {
		res, err := c.Fetch(ctx, f, dl)
		finishModelProgress(env)
		if err != nil {
			fmt.Fprintf(env.Stderr, "viettts-studio model download: %v\n", err)
			if ctx.Err() != nil {
				fmt.Fprintln(env.Stderr, "run the command again to resume where it stopped")
			}
			return 1
		}
		switch {
		case res.Skipped:
			fmt.Fprintf(env.Stderr, "%s: already downloaded and verified\n", f.Name)
		case res.Resumed > 0:
			fmt.Fprintf(env.Stderr, "%s: %s, verified (resumed after %s)\n", f.Name, bytesize.Format(res.Size), bytesize.Format(res.Resumed))
		default:
			fmt.Fprintf(env.Stderr, "%s: %s, verified\n", f.Name, bytesize.Format(res.Size))
		}
	}
	out := modelDir(env, *dir)
	src := compiler.Source{Dir: dl}
	if code := compileInto(ctx, env, src, out, opts); code != 0 {
		return code
	}
	if err := studio.RecordSource(out, src, true); err != nil {
		fmt.Fprintf(env.Stderr, "viettts-studio model download: %v\n", err)
	}
	if !*keep {
		if _, err := studio.RemoveSource(out, dl); err != nil {
			fmt.Fprintf(env.Stderr, "viettts-studio model download: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(env.Stderr, "the checkpoint stays in %s (%s): `viettts-studio model rebuild` compiles it again after an update without downloading; `viettts-studio model remove-source` frees the space\n",
		dl, bytesize.Format(studio.DescribeModel(out, dl).KeptBytes))
	return 0
}

const rebuildHelp = `
Compiles the installed model again from the checkpoint kept on this computer, without the
network: the folder of the last 'model install --from DIR' while it still holds llm.pt, flow.pt,
hift.pt and config.yaml, or else the download that 'model download' keeps. Run it when the model
was built by an older version of VietTTS Studio. The model's dimensions and graphs stay those of
the bundle it replaces. Once 'viettts-studio model remove-source' has deleted the kept download,
a rebuild needs 'viettts-studio model download' again.
`

func modelRebuild(ctx context.Context, env *Env, args []string) int {
	fs := newFlags(env, "model rebuild", "[--dir DIR] [flags]")
	dir := fs.String("dir", "", "bundle folder to rebuild (default: the app's model folder)")
	dims := fs.String("dims", "", "model size: full or tiny (default: that of the bundle being rebuilt)")
	noFP16 := fs.Bool("no-fp16", false, "skip the fp16 LLM graphs (used on GPUs only)")
	usage := fs.Usage
	fs.Usage = func() { usage(); fmt.Fprint(env.Stderr, rebuildHelp) }
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	out := modelDir(env, *dir)
	p := newModelProgress(env)
	opts := compiler.Options{NoFP16: *noFP16, Progress: p.step}
	if *dims != "" {
		d, err := compiler.Preset(*dims)
		if err != nil {
			fmt.Fprintf(env.Stderr, "viettts-studio model rebuild: %v\n", err)
			return 2
		}
		opts.Dims = &d
	}
	start := time.Now()
	before, _ := bundle.ReadManifest(out) // nil unless a bundle of this format is there
	m, src, err := studio.RebuildBundle(ctx, out, studio.ModelDownloads(env.Dirs), opts)
	finishModelProgress(env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "viettts-studio model rebuild: %v\n", err)
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(env.Stderr, "the model was left as it was; run the command again to start over")
		}
		return 1
	}
	from := "your folder " + src.Dir
	if src.Downloaded {
		from = "the kept download in " + src.Dir
	}
	if before != nil && before.Created.Equal(m.Created) {
		fmt.Fprintf(env.Stdout, "%s in %s is already built from %s by this version: nothing to rebuild\n", m.ModelID, out, from)
		return 0
	}
	fmt.Fprintf(env.Stdout, "rebuilt %s (%d graphs, %s) in %s from %s in %s\n", m.ModelID, len(m.Graphs), bytesize.Format(m.Size()), out,
		from, time.Since(start).Round(time.Second))
	return 0
}

func modelRemoveSource(env *Env, args []string) int {
	fs := newFlags(env, "model remove-source", "[--dir DIR]")
	dir := fs.String("dir", "", "bundle folder whose source to forget (default: the app's model folder)")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	out := modelDir(env, *dir)
	dl := studio.ModelDownloads(env.Dirs)
	freed, err := studio.RemoveSource(out, dl)
	if err != nil {
		fmt.Fprintf(env.Stderr, "viettts-studio model remove-source: %v\n", err)
		return 1
	}
	if freed > 0 {
		fmt.Fprintf(env.Stdout, "removed the kept download in %s (%s freed)\n", dl, bytesize.Format(freed))
	} else {
		fmt.Fprintf(env.Stdout, "no download is kept in %s\n", dl)
	}
	info := studio.DescribeModel(out, dl)
	if info.SourceDir != "" {
		fmt.Fprintf(env.Stdout, "the model was installed from your folder %s, which is left as it is; `model rebuild` uses it while it holds the files\n", info.SourceDir)
	} else {
		fmt.Fprintln(env.Stdout, "an update that changes the model format will need `viettts-studio model download` again")
	}
	return 0
}

func modelVerify(ctx context.Context, env *Env, args []string) int {
	fs := newFlags(env, "model verify", "[--dir DIR]")
	dir := fs.String("dir", "", "bundle folder (default: the installed model)")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	d := *dir
	if d == "" {
		d = env.Dirs.Model()
	}
	p := newModelProgress(env)
	err := bundle.VerifyContext(ctx, d, p.bytes)
	finishModelProgress(env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "viettts-studio model verify: %v\n", err)
		return 1
	}
	m, _ := bundle.ReadManifest(d)
	fmt.Fprintf(env.Stdout, "model %s in %s is intact (%d files, %s)\n", m.ModelID, d, len(m.Graphs)+len(m.Files), bytesize.Format(m.Size()))
	return 0
}

func modelInfo(env *Env, args []string) int {
	fs := newFlags(env, "model info", "[--dir DIR] [--json]")
	dir := fs.String("dir", "", "bundle folder (default: the installed model)")
	asJSON := fs.Bool("json", false, "print the manifest as JSON")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	d := *dir
	if d == "" {
		d = env.Dirs.Model()
	}
	dl := studio.ModelDownloads(env.Dirs)
	b, err := bundle.Open(d)
	if err != nil {
		fmt.Fprintf(env.Stderr, "viettts-studio model info: %v\n", err)
		if errors.Is(err, bundle.ErrOutdated) {
			info := studio.DescribeModel(d, dl)
			switch {
			case info.CanRebuild:
				fmt.Fprintf(env.Stderr, "the checkpoint is kept in %s: `viettts-studio model rebuild` compiles it again without downloading\n", info.SourceDir)
			case info.SourceProblem != "":
				fmt.Fprintln(env.Stderr, info.SourceProblem)
			default:
				fmt.Fprintln(env.Stderr, "no checkpoint is kept to rebuild it from: run `viettts-studio model download`")
			}
		}
		return 1
	}
	m := b.Manifest
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(m)
		return 0
	}
	w := env.Stdout
	fmt.Fprintf(w, "model     %s\n", m.ModelID)
	fmt.Fprintf(w, "folder    %s (%s)\n", d, bytesize.Format(m.Size()))
	fmt.Fprintf(w, "compiler  %s, format %d, built %s\n", m.Compiler, m.Format, m.Created.Format(time.RFC3339))
	if m.Random {
		fmt.Fprintf(w, "weights   random (seed %d): for tests and benchmarks only, it does not speak\n", m.Seed)
	}
	fmt.Fprintf(w, "licence   %s\n", m.License)
	if dims, err := compiler.DimsOf(m); err == nil {
		fmt.Fprintf(w, "dims      llm %d×%d blocks (text %d), flow %d×%d, estimator %d ch, hift %d ch\n",
			dims.LLM.Model, dims.LLM.Blocks, dims.LLM.TextEncoderBlocks, dims.Flow.Model, dims.Flow.Blocks,
			dims.Flow.EstimatorChannels, dims.HiFT.BaseChannels)
	}
	fmt.Fprintln(w, "graphs")
	for _, g := range m.Graphs {
		fmt.Fprintf(w, "  %-18s %-5s %10s  %s\n", g.Name, g.Precision, bytesize.Format(g.Size), g.SHA256[:12])
	}
	if m.Tokenizer != "" {
		fmt.Fprintf(w, "tokenizer %s\n", m.Tokenizer)
	} else {
		fmt.Fprintln(w, "tokenizer none (install from a folder with multilingual.tiktoken)")
	}
	var ids []string
	for _, v := range m.Voices {
		ids = append(ids, v.ID)
	}
	fmt.Fprintf(w, "voices    %d %s\n", len(ids), strings.Join(ids, " "))
	for _, s := range m.Sources {
		fmt.Fprintf(w, "source    %-12s %10s  %s\n", s.Path, bytesize.Format(s.Size), s.SHA256[:12])
	}
	switch info := studio.DescribeModel(d, dl); {
	case info.CanRebuild && info.SourceDownloaded:
		fmt.Fprintf(w, "kept      %s (%s): `model rebuild` compiles it again after an update without downloading; `model remove-source` frees the space\n",
			info.SourceDir, bytesize.Format(info.KeptBytes))
	case info.CanRebuild:
		fmt.Fprintf(w, "kept      your folder %s: `model rebuild` compiles it again after an update while it holds the files\n", info.SourceDir)
	case info.SourceProblem != "":
		fmt.Fprintf(w, "kept      none usable: %s\n", info.SourceProblem)
	default:
		fmt.Fprintln(w, "kept      no checkpoint: an update that changes the model format needs `model download` again")
	}
	return 0
}

func modelBuildRandom(ctx context.Context, env *Env, args []string) int {
	fs := newFlags(env, "model build-random", "--dims tiny|full --out DIR [flags]")
	out := fs.String("out", "", "folder to write the bundle to")
	seed := fs.String("seed", "1", "random seed (the same seed gives the same bundle)")
	tok := fs.String("tokenizer", "", "tokenizer ranks file to include")
	voices := fs.String("voices", "", "folder of voice files to include")
	cf := addCompileFlags(fs)
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	if *out == "" {
		fmt.Fprintln(env.Stderr, "viettts-studio model build-random: --out DIR is required")
		return 2
	}
	s, err := strconv.ParseUint(*seed, 10, 64)
	if err != nil {
		fmt.Fprintf(env.Stderr, "viettts-studio model build-random: --seed %q is not a whole number\n", *seed)
		return 2
	}
	opts, err := cf.options(env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "viettts-studio model build-random: %v\n", err)
		return 2
	}
	start := time.Now()
	m, err := compiler.CompileRandom(ctx, *opts.Dims, s, *out, compiler.Source{Tokenizer: *tok, Voices: *voices}, opts)
	finishModelProgress(env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "viettts-studio model build-random: %v\n", err)
		return 1
	}
	fmt.Fprintf(env.Stdout, "built %s (%d graphs, %s) in %s in %s\n", m.ModelID, len(m.Graphs), bytesize.Format(m.Size()), *out,
		time.Since(start).Round(time.Millisecond))
	return 0
}

const licenseNotice = `VietTTS model by dangvansam (https://github.com/dangvansam/viet-tts).
Its README says the pre-trained models and audio samples are licensed under CC BY-NC
(Creative Commons Attribution-NonCommercial): non-commercial use only, with attribution.
Audio you make with it falls under the same terms.
`

// modelProgress draws a one-line progress bar with an ETA on a terminal and stays quiet otherwise.
type modelProgress struct {
	env   *Env
	tty   bool
	mu    sync.Mutex
	file  string
	start time.Time
	base  int64
	last  time.Time
}

var modelProgressLines sync.Map // *Env → bool: a bar is on screen

func newModelProgress(env *Env) *modelProgress {
	return &modelProgress{env: env, tty: isTerminal(env.Stderr)}
}

// step reports a compile step.
func (p *modelProgress) step(n, total int, what string) {
	if p.tty {
		fmt.Fprintf(p.env.Stderr, "\r\033[K[%d/%d] %s", n, total, what)
		modelProgressLines.Store(p.env, true)
		return
	}
	fmt.Fprintf(p.env.Stderr, "[%d/%d] %s\n", n, total, what)
}

// bytes reports transfer or hashing progress.
func (p *modelProgress) bytes(file string, done, total int64) {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if file != p.file {
		p.file, p.start, p.base = file, now, done
	}
	if now.Sub(p.last) < 100*time.Millisecond && done != total {
		return
	}
	p.last = now
	line := fmt.Sprintf("%s  %s", file, bytesize.Format(done))
	if total > 0 {
		pct := float64(done) / float64(total)
		const width = 24
		fill := int(pct * width)
		line = fmt.Sprintf("%s [%s%s] %3.0f%% %s / %s", file, strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
			100*pct, bytesize.Format(done), bytesize.Format(total))
		if el := now.Sub(p.start).Seconds(); el > 1 && done > p.base {
			rate := float64(done-p.base) / el
			eta := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
			line += fmt.Sprintf("  %s/s  ETA %s", bytesize.Format(int64(rate)), eta)
		}
	}
	fmt.Fprintf(p.env.Stderr, "\r\033[K%s", line)
	modelProgressLines.Store(p.env, true)
}

// finishModelProgress ends a progress line, if one is on screen.
func finishModelProgress(env *Env) {
	if _, ok := modelProgressLines.LoadAndDelete(env); ok {
		fmt.Fprintln(env.Stderr)
	}
}

func modelReaderIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// modelDir is the bundle folder a model command works on: dir, or the app's model folder.
func modelDir(env *Env, dir string) string {
	if dir == "" {
		return env.Dirs.Model()
	}
	return dir
}
