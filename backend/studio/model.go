package studio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/bytesize"
	"github.com/viettts-studio/studio/inference/compiler"
	"github.com/viettts-studio/studio/inference/download"
)

// ModelInfo describes the installed model bundle for the Settings view.
type ModelInfo struct {
	Installed bool   `json:"installed"`
	Dir       string `json:"dir"`
	ModelID   string `json:"modelId"`
	Random    bool   `json:"random"` // random weights: a test bundle that does not speak
	License   string `json:"license"`
	Bytes     int64  `json:"bytes"`
	Graphs    int    `json:"graphs"`
	Voices    int    `json:"voices"`
	// Problem says why an existing folder is not a usable bundle, and what to do.
	Problem string `json:"problem,omitempty"`
	// Outdated: the folder holds a bundle of another format, built by an older version of the
	// app. RebuildModel compiles it again from the kept checkpoint when CanRebuild; otherwise
	// DownloadModel (or InstallModel) does.
	Outdated bool `json:"outdated"`
	// SourceDir is the checkpoint folder RebuildModel compiles ("" when none is known): the
	// app's kept download, or the user's folder of the last install from a folder.
	SourceDir string `json:"sourceDir"`
	// SourceDownloaded: SourceDir is the app's own copy of the download (RemoveModelSource
	// deletes it), not a folder of the user's.
	SourceDownloaded bool `json:"sourceDownloaded"`
	// CanRebuild: SourceDir holds llm.pt, flow.pt, hift.pt and config.yaml with the sizes the
	// bundle was built from, so the bundle can be compiled again without the network.
	CanRebuild bool `json:"canRebuild"`
	// SourceProblem says why a known checkpoint cannot rebuild the bundle, and what to do.
	SourceProblem string `json:"sourceProblem,omitempty"`
	// KeptDir is where downloads go and stay; KeptBytes is the space its files take (0: none
	// kept). RemoveModelSource deletes them.
	KeptDir   string `json:"keptDir"`
	KeptBytes int64  `json:"keptBytes"`
}

// ModelProgress reports a model operation: a step of compiling or bytes of a file being
// downloaded or verified.
type ModelProgress struct {
	Stage string  `json:"stage"` // "download", "compile" or "verify"
	What  string  `json:"what"`
	Done  float64 `json:"done"` // 0-1 within the stage; -1 when unknown
}

// ErrNoModelSource is returned by RebuildModel when no kept checkpoint can rebuild the bundle.
var ErrNoModelSource = errors.New("no checkpoint is kept to rebuild the model from")

// Test seams: the published file list (its hashes are those of the real files, which a test
// server cannot serve) and the dimensions a download or a folder install compiles (nil: the
// published model's). A rebuild takes the dimensions of the bundle it replaces.
var (
	officialFiles = download.Official
	installDims   *compiler.Dims
)

// ModelDownloads is where `model download` and the window's Download put the checkpoint, and
// where it stays after the install so that a later update of the bundle format needs no new
// download. It is the folder earlier versions downloaded to, so a download they left
// unfinished, or kept with --keep-downloads, is resumed or reused.
func ModelDownloads(dirs home.Dirs) string {
	return filepath.Join(dirs.Cache, "downloads", filepath.Base(dirs.Model()))
}

// Model describes the bundle in the model folder, and the checkpoint kept to rebuild it.
func (s *Studio) Model() ModelInfo {
	return DescribeModel(s.dirs.Model(), ModelDownloads(s.dirs))
}

// DescribeModel describes the bundle in modelDir and the checkpoint that could rebuild it: the
// folder recorded by its last install, or the kept download in downloads.
func DescribeModel(modelDir, downloads string) ModelInfo {
	info := ModelInfo{Dir: modelDir, KeptDir: downloads, KeptBytes: folderBytes(downloads)}
	b, err := bundle.Open(modelDir)
	switch {
	case err == nil:
		m := b.Manifest
		info.Installed, info.ModelID, info.Random, info.License = true, m.ModelID, m.Random, m.License
		info.Bytes, info.Graphs, info.Voices = m.Size(), len(m.Graphs), len(m.Voices)
	case errors.Is(err, bundle.ErrOutdated):
		info.Outdated = true
		info.Problem = "the installed model was built by an older version of VietTTS Studio and must be compiled again"
	case !errors.Is(err, bundle.ErrNotInstalled):
		info.Problem = err.Error()
	}
	src, err := findSource(modelDir, downloads, anyManifest(modelDir))
	info.SourceDir, info.SourceDownloaded = src.Dir, src.Downloaded
	info.CanRebuild = err == nil
	if err != nil && src.Dir != "" {
		info.SourceProblem = err.Error()
	}
	if info.Outdated {
		if info.CanRebuild {
			info.Problem += ": rebuild it from the kept checkpoint (no download)"
		} else {
			info.Problem += ": download it again"
		}
	}
	return info
}

// InstallModel compiles the official checkpoint files in folder from into the model folder.
// The folder is not copied: it is recorded as the model's source, and RebuildModel compiles it
// again after an update while it still holds the files.
func (s *Studio) InstallModel(ctx context.Context, from string, progress func(ModelProgress)) (ModelInfo, error) {
	if from == "" {
		return ModelInfo{}, errors.New("choose the folder that holds llm.pt, flow.pt, hift.pt and config.yaml")
	}
	if _, err := os.Stat(filepath.Join(from, "llm.pt")); err != nil {
		return ModelInfo{}, fmt.Errorf("%s has no llm.pt: choose the folder of the downloaded VietTTS checkpoint (llm.pt, flow.pt, hift.pt, config.yaml)", from)
	}
	src := compiler.Source{Dir: from}
	if err := s.compile(ctx, src, compiler.Options{Dims: installDims}, progress); err != nil {
		return ModelInfo{}, err
	}
	if err := RecordSource(s.dirs.Model(), src, false); err != nil {
		s.log.Warn("the model is installed, but a later rebuild will not find its folder", "err", err)
	}
	return s.Model(), nil
}

// DownloadModel downloads the official checkpoint (resuming partial files, skipping files
// already there with the right hash), checks each file's hash and compiles it into the model
// folder. The checkpoint stays in ModelDownloads: RebuildModel compiles it again after an update
// without the network, and RemoveModelSource frees the space. endpoint and tokenizerURL override
// the Hugging Face endpoint and the tokenizer address ("" for the defaults).
func (s *Studio) DownloadModel(ctx context.Context, endpoint, tokenizerURL string, progress func(ModelProgress)) (ModelInfo, error) {
	files := officialFiles(endpoint, tokenizerURL)
	dl := ModelDownloads(s.dirs)
	c := &download.Client{Log: s.log, Progress: func(file string, done, total int64) {
		report(progress, ModelProgress{Stage: "download", What: file, Done: fraction(done, total)})
	}}
	for _, f := range files {
		res, err := c.Fetch(ctx, f, dl)
		if err != nil {
			if ctx.Err() != nil {
				return ModelInfo{}, fmt.Errorf("download stopped: %w (start it again to resume where it stopped)", err)
			}
			return ModelInfo{}, fmt.Errorf("downloading %s: %w (check the internet connection and try again; finished files are kept)", f.Name, err)
		}
		if res.Skipped {
			s.log.Info("model file already downloaded and verified", "file", f.Name, "size", bytesize.Format(res.Size))
		}
	}
	src := compiler.Source{Dir: dl}
	if err := s.compile(ctx, src, compiler.Options{Dims: installDims}, progress); err != nil {
		return ModelInfo{}, err
	}
	if err := RecordSource(s.dirs.Model(), src, true); err != nil {
		s.log.Warn("the model is installed, but a later rebuild will not find its download", "err", err)
	}
	return s.Model(), nil
}

// RebuildModel compiles the model again from the kept checkpoint, without the network: the
// folder the last install used when it still holds the files, or the kept download. It fails
// with ErrNoModelSource, saying to download again, when neither does.
func (s *Studio) RebuildModel(ctx context.Context, progress func(ModelProgress)) (ModelInfo, error) {
	_, _, err := RebuildBundle(ctx, s.dirs.Model(), ModelDownloads(s.dirs), compiler.Options{Progress: compileProgress(progress)})
	if err != nil {
		return ModelInfo{}, err
	}
	return s.Model(), nil
}

// RemoveModelSource deletes the kept download of the checkpoint and returns the bytes freed.
// A folder the user installed from is the user's and is never deleted. Afterwards an update that
// changes the bundle format needs the model downloaded again.
func (s *Studio) RemoveModelSource() (int64, error) {
	return RemoveSource(s.dirs.Model(), ModelDownloads(s.dirs))
}

func (s *Studio) compile(ctx context.Context, src compiler.Source, opts compiler.Options, progress func(ModelProgress)) error {
	opts.Progress = compileProgress(progress)
	if _, err := compiler.Compile(ctx, src, s.dirs.Model(), opts); err != nil {
		return fmt.Errorf("installing the model: %w", err)
	}
	return nil
}

func compileProgress(progress func(ModelProgress)) func(n, total int, what string) {
	return func(n, total int, what string) {
		report(progress, ModelProgress{Stage: "compile", What: what, Done: fraction(int64(n), int64(total))})
	}
}

// sourceRecord is where a bundle was compiled from. It is kept next to the bundle folder, as
// "<bundle>.source.json", rather than in the settings table: the CLI installs bundles (also into
// other folders with --dir) without opening the database, and the record belongs with the bundle
// it describes. Outside the bundle folder, it survives the bundle being replaced.
type sourceRecord struct {
	Dir       string `json:"dir"`
	Tokenizer string `json:"tokenizer,omitempty"`
	Voices    string `json:"voices,omitempty"`
	// Downloaded: Dir is the app's kept download, not a folder of the user's.
	Downloaded bool      `json:"downloaded"`
	Installed  time.Time `json:"installed"`
}

func recordPath(modelDir string) string { return filepath.Clean(modelDir) + ".source.json" }

// RecordSource notes that the bundle in modelDir was compiled from src (downloaded: the app's
// kept download), for a later rebuild.
func RecordSource(modelDir string, src compiler.Source, downloaded bool) error {
	rec := sourceRecord{Downloaded: downloaded, Installed: time.Now().UTC()}
	for _, p := range []struct{ in, out *string }{{&src.Dir, &rec.Dir}, {&src.Tokenizer, &rec.Tokenizer}, {&src.Voices, &rec.Voices}} {
		if *p.in == "" {
			continue
		}
		abs, err := filepath.Abs(*p.in)
		if err != nil {
			return err
		}
		*p.out = abs
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	tmp := recordPath(modelDir) + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("cannot note where the model came from: %w", err)
	}
	if err := os.Rename(tmp, recordPath(modelDir)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cannot note where the model came from: %w", err)
	}
	return nil
}

func readRecord(modelDir string) (sourceRecord, bool) {
	data, err := os.ReadFile(recordPath(modelDir))
	if err != nil {
		return sourceRecord{}, false
	}
	var rec sourceRecord
	if json.Unmarshal(data, &rec) != nil || rec.Dir == "" {
		return sourceRecord{}, false
	}
	return rec, true
}

// anyManifest reads the manifest of the bundle in dir whatever its format (an outdated bundle
// still says what it was built from and at which dimensions); nil when there is none.
func anyManifest(dir string) *bundle.Manifest {
	data, err := os.ReadFile(filepath.Join(dir, bundle.ManifestFile))
	if err != nil {
		return nil
	}
	var m bundle.Manifest
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	return &m
}

// Source is a checkpoint folder that can rebuild a bundle.
type Source struct {
	compiler.Source
	// Downloaded: the app's kept download (RemoveSource deletes it), not a folder of the user's.
	Downloaded bool
}

// checkpointFiles are what a rebuild needs; the rest (tokenizer, speech models, voices) is copied
// when present, as at install.
var checkpointFiles = []string{compiler.FileLLM, compiler.FileFlow, compiler.FileHiFT, compiler.FileConfig}

// findSource picks the checkpoint that rebuilds the bundle in modelDir: the folder of its last
// install while it holds the files, else the kept download. old, when known, is the bundle's
// manifest: its sources' sizes must match (a cheap check; the compiler hashes them).
func findSource(modelDir, downloads string, old *bundle.Manifest) (Source, error) {
	var cands []Source
	rec, recorded := readRecord(modelDir)
	if recorded {
		c := Source{Source: compiler.Source{Dir: rec.Dir, Tokenizer: rec.Tokenizer, Voices: rec.Voices},
			Downloaded: rec.Downloaded || filepath.Clean(rec.Dir) == filepath.Clean(downloads)}
		// a download that was deleted is simply not kept; a folder of the user's that is gone is
		// worth saying
		if _, err := os.Stat(c.Dir); err == nil || !c.Downloaded {
			cands = append(cands, c)
		}
	}
	if !recorded || filepath.Clean(rec.Dir) != filepath.Clean(downloads) {
		if _, err := os.Stat(downloads); err == nil {
			cands = append(cands, Source{Source: compiler.Source{Dir: downloads}, Downloaded: true})
		}
	}
	if len(cands) == 0 {
		return Source{}, fmt.Errorf("%w (the download was removed, or an older version of the app deleted it after installing): download the model again (Settings → Model → Download, or `viettts-studio model download`), or install it from a folder that holds llm.pt, flow.pt, hift.pt and config.yaml", ErrNoModelSource)
	}
	var problems []string
	for _, c := range cands {
		err := checkSource(c, old)
		if err == nil {
			return c, nil
		}
		problems = append(problems, err.Error())
	}
	what := "download the model again (Settings → Model → Download, or `viettts-studio model download`: files already downloaded and intact are not fetched again)"
	if !cands[0].Downloaded {
		what = "put the files back, install from a folder that holds them, or " + what
	}
	return cands[0], fmt.Errorf("%w: %s: %s", ErrNoModelSource, strings.Join(problems, "; "), what)
}

// checkSource checks that c holds every checkpoint file, with the size old was built from.
func checkSource(c Source, old *bundle.Manifest) error {
	sizes := map[string]int64{}
	if old != nil {
		for _, f := range old.Sources {
			sizes[f.Path] = f.Size
		}
	}
	where := "the folder " + c.Dir + " the model was installed from"
	if c.Downloaded {
		where = "the kept download in " + c.Dir
	}
	if st, err := os.Stat(c.Dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s no longer exists", where)
	}
	var bad []string
	for _, name := range checkpointFiles {
		p := filepath.Join(c.Dir, name)
		st, err := os.Stat(p)
		switch {
		case err != nil:
			if _, perr := os.Stat(p + ".part"); perr == nil {
				bad = append(bad, name+" did not finish downloading")
			} else {
				bad = append(bad, name+" is missing")
			}
		case sizes[name] > 0 && st.Size() != sizes[name]:
			bad = append(bad, fmt.Sprintf("%s has %s, the model was built from %s", name, bytesize.Format(st.Size()), bytesize.Format(sizes[name])))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s is incomplete: %s", where, strings.Join(bad, ", "))
	}
	return nil
}

// RebuildBundle compiles the bundle in modelDir again from its kept checkpoint (see findSource),
// with the dimensions and graphs of the bundle it replaces unless opts sets them. It returns the
// new manifest and the folder compiled. A bundle already built from those files by this version
// is left as it is (only the hashing is spent).
func RebuildBundle(ctx context.Context, modelDir, downloads string, opts compiler.Options) (*bundle.Manifest, Source, error) {
	old := anyManifest(modelDir)
	src, err := findSource(modelDir, downloads, old)
	if err != nil {
		return nil, src, err
	}
	if old != nil && !old.Random {
		if opts.Dims == nil {
			if d, err := compiler.DimsOf(old); err == nil {
				opts.Dims = &d
			}
		}
		fp16 := false
		for _, g := range old.Graphs {
			fp16 = fp16 || g.Name == bundle.GraphLLMDecodeFP16
		}
		opts.NoFP16 = opts.NoFP16 || !fp16
	} else if opts.Dims == nil {
		opts.Dims = installDims
	}
	m, err := compiler.Compile(ctx, src.Source, modelDir, opts)
	if err != nil {
		return nil, src, fmt.Errorf("rebuilding the model from %s: %w", src.Dir, err)
	}
	// The rebuilt bundle is good whether or not the record can be refreshed: the record only
	// points a later rebuild at the folder this one found.
	RecordSource(modelDir, src.Source, src.Downloaded)
	return m, src, nil
}

// RemoveSource deletes the kept download (every file in downloads, finished or partial) and
// forgets it as the source of the bundle in modelDir. It returns the bytes freed. A folder of the
// user's recorded as the source is left alone.
func RemoveSource(modelDir, downloads string) (int64, error) {
	freed := folderBytes(downloads)
	if err := os.RemoveAll(downloads); err != nil {
		return 0, fmt.Errorf("cannot remove the kept download in %s: %w (close any program using it and try again)", downloads, err)
	}
	if rec, ok := readRecord(modelDir); ok && (rec.Downloaded || filepath.Clean(rec.Dir) == filepath.Clean(downloads)) {
		if err := os.Remove(recordPath(modelDir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return freed, fmt.Errorf("removed the kept download, but cannot update %s: %w", recordPath(modelDir), err)
		}
	}
	return freed, nil
}

// folderBytes is the size of the regular files under dir (0 when it does not exist).
func folderBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if st, err := d.Info(); err == nil {
				n += st.Size()
			}
		}
		return nil
	})
	return n
}

// VerifyModel re-hashes every file of the installed bundle against its manifest.
func (s *Studio) VerifyModel(ctx context.Context, progress func(ModelProgress)) error {
	return bundle.VerifyContext(ctx, s.dirs.Model(), func(file string, done, total int64) {
		report(progress, ModelProgress{Stage: "verify", What: file, Done: fraction(done, total)})
	})
}

func report(f func(ModelProgress), p ModelProgress) {
	if f != nil {
		f(p)
	}
}

func fraction(done, total int64) float64 {
	if total <= 0 {
		return -1
	}
	return float64(done) / float64(total)
}
