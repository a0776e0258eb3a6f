// Package bundle is the on-disk form of a compiled VietTTS model: a folder with the ONNX graphs
// of MODEL.md, the text tokenizer, the speech tokenizer and speaker-embedding models, the
// built-in voices, and manifest.json, which lists every file with its size and sha256 together
// with the model's dimensions and where it came from.
//
// A bundle is written by Writer into "<dir>.partial" and renamed into place only after every
// file and the manifest are synced, so a folder named like a bundle with a manifest is always
// complete; a crash leaves at most a ".partial" folder, which the next install removes.
//
//	absent ──Create──► <dir>.partial (files being written, no manifest)
//	       ──Commit──► <dir> (manifest.json present: good)
//	       ──Abort / crash──► <dir>.partial left over ──next Create──► removed, started over
//
// Open checks that a bundle is present and its files have the sizes the manifest lists (cheap);
// Verify also checks every sha256 (reads everything).
package bundle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/viettts-studio/studio/inference/ctxio"
)

// FormatVersion is the bundle layout this package writes and reads: the manifest and the graphs'
// inputs and outputs. 2: llm_decode takes its cache as past_len and one key and one value input
// per layer with room to spare (1: one past_kv of exactly K positions).
const FormatVersion = 2

// ManifestFile is the name of the manifest inside a bundle folder.
const ManifestFile = "manifest.json"

// Graph names (MODEL.md §1): the runtime asks for graphs by these names.
const (
	GraphLLMPrefill     = "llm_prefill"
	GraphLLMDecode      = "llm_decode"
	GraphLLMPrefillFP16 = "llm_prefill_fp16" // pairs with llm_decode_fp16: its kv is float16
	GraphLLMDecodeFP16  = "llm_decode_fp16"
	GraphFlowEncoder    = "flow_encoder"
	GraphFlowEstimator  = "flow_estimator"
	GraphHiFT           = "hift"
	GraphSpeechTokenize = "speech_tokenizer" // shipped by the publisher, copied as is
	GraphSpeakerEmbed   = "speech_embedding" // CAM++, shipped by the publisher, copied as is
)

// Roles of the non-graph files of a bundle.
const (
	RoleTokenizer = "tokenizer"
	RoleVoice     = "voice"
	RoleLicense   = "license"
	RoleConfig    = "config"
)

// Sentinel errors, for callers that branch (errors.Is).
var (
	// ErrNotInstalled: there is no complete bundle in the folder.
	ErrNotInstalled = errors.New("no model installed")
	// ErrCorrupt: a file of the bundle is missing, has the wrong size, or fails its sha256.
	ErrCorrupt = errors.New("model bundle is damaged")
	// ErrOutdated: the bundle was built in another format, by another version of the app.
	ErrOutdated = errors.New("model bundle was built by another version of VietTTS Studio")
)

// Manifest describes a bundle. It is stored as manifest.json.
type Manifest struct {
	Format int `json:"format"`
	// ModelID names the model: "dangvansam/viet-tts" for the published checkpoint,
	// "random-tiny" or "random-full" for random-weight bundles.
	ModelID string `json:"model_id"`
	// Compiler is the version of the compiler that built the graphs.
	Compiler string    `json:"compiler"`
	Created  time.Time `json:"created"`
	// Random is true for random-weight bundles (tests and benchmarks); Seed is their seed.
	Random bool   `json:"random,omitempty"`
	Seed   uint64 `json:"seed,omitempty"`
	// Sources are the checkpoint files the graphs were compiled from (name, size, sha256).
	Sources []File `json:"sources,omitempty"`
	// Dims are the model dimensions (compiler.Dims as JSON).
	Dims json.RawMessage `json:"dims"`
	// Graphs are the ONNX files.
	Graphs []Graph `json:"graphs"`
	// Files are the other files: tokenizer, voices, licence, config.
	Files []File `json:"files,omitempty"`
	// Tokenizer is the path of the text tokenizer's ranks file inside the bundle.
	Tokenizer string `json:"tokenizer,omitempty"`
	// Voices are the built-in voices.
	Voices []Voice `json:"voices,omitempty"`
	// License identifies the licence of the weights ("CC-BY-NC-4.0" for VietTTS; "none" for
	// random weights), and LicenseFile is its text inside the bundle.
	License     string `json:"license"`
	LicenseFile string `json:"license_file,omitempty"`
}

// File is one file of a bundle (or a source checkpoint): its path relative to the bundle folder,
// size and sha256 (lower-case hex).
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Role   string `json:"role,omitempty"`
}

// Graph is one ONNX graph of a bundle.
type Graph struct {
	Name string `json:"name"`
	File
	// Precision is "fp32" or "fp16" (weights and compute; inputs and outputs named in MODEL.md
	// keep their documented types).
	Precision string `json:"precision"`
}

// Voice is a built-in voice: its id (the file stem) and the file holding its sample or its
// precomputed conditioning.
type Voice struct {
	ID   string `json:"id"`
	Path string `json:"path"`
}

// Bundle is an opened model bundle.
type Bundle struct {
	Dir      string
	Manifest *Manifest
}

// ReadManifest reads and checks the manifest of the bundle in dir.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			hint := "install it with `viettts-studio model download` or `viettts-studio model install --from DIR`"
			if _, perr := os.Stat(dir + partialSuffix); perr == nil {
				hint = "an earlier install was interrupted; run it again to start over"
			}
			return nil, fmt.Errorf("%w in %s: %s", ErrNotInstalled, dir, hint)
		}
		return nil, fmt.Errorf("cannot read the model manifest %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s is not valid JSON (%v): reinstall the model", ErrCorrupt, filepath.Join(dir, ManifestFile), err)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("%w: %s has format %d, this version reads format %d: rebuild it (Settings → Model → Rebuild, or viettts-studio model rebuild), or install it again (model download / model install)",
			ErrOutdated, dir, m.Format, FormatVersion)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%w: manifest of %s: %v: reinstall the model", ErrCorrupt, dir, err)
	}
	return &m, nil
}

// check rejects manifests whose paths could leave the bundle or collide.
func (m *Manifest) check() error {
	seen := map[string]bool{}
	for _, f := range m.allFiles() {
		if !localPath(f.Path) {
			return fmt.Errorf("file path %q is not inside the bundle", f.Path)
		}
		if seen[f.Path] {
			return fmt.Errorf("file %s is listed twice", f.Path)
		}
		seen[f.Path] = true
		if len(f.SHA256) != 64 {
			return fmt.Errorf("file %s has no valid sha256", f.Path)
		}
	}
	return nil
}

func localPath(p string) bool {
	return p != "" && filepath.IsLocal(filepath.FromSlash(p)) && p != ManifestFile && !strings.Contains(p, `\`)
}

// allFiles lists every file of the bundle that the manifest accounts for.
func (m *Manifest) allFiles() []File {
	out := make([]File, 0, len(m.Graphs)+len(m.Files))
	for _, g := range m.Graphs {
		f := g.File
		if f.Role == "" {
			f.Role = "graph " + g.Name
		}
		out = append(out, f)
	}
	return append(out, m.Files...)
}

// Open opens the bundle in dir, checking that the manifest is valid and that every file it lists
// is present with the listed size. It does not read the files (see Verify).
func Open(dir string) (*Bundle, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, f := range m.allFiles() {
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Path)))
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s %s is missing", describe(f), f.Path))
		case st.Size() != f.Size:
			errs = append(errs, fmt.Errorf("%s %s has %d bytes, the manifest says %d", describe(f), f.Path, st.Size(), f.Size))
		}
	}
	if len(errs) > 0 {
		return nil, corrupt(dir, errs)
	}
	return &Bundle{Dir: dir, Manifest: m}, nil
}

func describe(f File) string {
	if strings.HasPrefix(f.Role, "graph ") {
		return "graph"
	}
	if f.Role == "" {
		return "file"
	}
	return f.Role
}

func corrupt(dir string, errs []error) error {
	return fmt.Errorf("%w (%s): %w: run `viettts-studio model verify`, then reinstall the model", ErrCorrupt, dir, errors.Join(errs...))
}

// Graph returns the graph called name.
func (b *Bundle) Graph(name string) (Graph, bool) {
	for _, g := range b.Manifest.Graphs {
		if g.Name == name {
			return g, true
		}
	}
	return Graph{}, false
}

// GraphPath returns the path of the graph called name, or an error saying it is not in this bundle.
func (b *Bundle) GraphPath(name string) (string, error) {
	g, ok := b.Graph(name)
	if !ok {
		var have []string
		for _, g := range b.Manifest.Graphs {
			have = append(have, g.Name)
		}
		return "", fmt.Errorf("model bundle %s has no graph %s (it has %s): reinstall the model with this version of VietTTS Studio",
			b.Dir, name, strings.Join(have, ", "))
	}
	return b.Path(g.Path), nil
}

// Path returns the absolute path of a file given by its manifest path.
func (b *Bundle) Path(rel string) string { return filepath.Join(b.Dir, filepath.FromSlash(rel)) }

// TokenizerPath is the path of the text tokenizer's ranks file ("" when the bundle has none).
func (b *Bundle) TokenizerPath() string {
	if b.Manifest.Tokenizer == "" {
		return ""
	}
	return b.Path(b.Manifest.Tokenizer)
}

// Verify checks the sha256 of every file of the bundle in dir. See VerifyContext.
func Verify(dir string) error { return VerifyContext(context.Background(), dir, nil) }

// Progress is told how many bytes of how many have been processed; file is the current file.
// It is called from the working goroutine, at most every few megabytes.
type Progress func(file string, done, total int64)

// VerifyContext checks that every file of the bundle in dir is present with its listed size and
// sha256. All problems are reported together; each names the file and says what to do.
func VerifyContext(ctx context.Context, dir string, progress Progress) error {
	m, err := ReadManifest(dir)
	if err != nil {
		return err
	}
	files := m.allFiles()
	var total, done int64
	for _, f := range files {
		total += f.Size
	}
	var errs []error
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		sum, n, err := hashFile(ctx, p, func(k int64) {
			if progress != nil {
				progress(f.Path, done+k, total)
			}
		})
		done += f.Size
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && errors.Is(err, os.ErrNotExist):
			errs = append(errs, fmt.Errorf("%s %s is missing", describe(f), f.Path))
		case err != nil:
			errs = append(errs, fmt.Errorf("%s %s cannot be read: %v", describe(f), f.Path, err))
		case n != f.Size:
			errs = append(errs, fmt.Errorf("%s %s is corrupt (%d bytes, expected %d)", describe(f), f.Path, n, f.Size))
		case sum != f.SHA256:
			errs = append(errs, fmt.Errorf("%s %s is corrupt (sha256 mismatch)", describe(f), f.Path))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w (%s): %w: reinstall the model (`viettts-studio model install --from DIR` or `viettts-studio model download`)",
			ErrCorrupt, dir, errors.Join(errs...))
	}
	return nil
}

// HashFile returns the sha256 (hex) and size of the file at path.
func HashFile(ctx context.Context, path string) (string, int64, error) {
	return hashFile(ctx, path, nil)
}

func hashFile(ctx context.Context, path string, progress func(int64)) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := ctxio.Copy(ctx, h, f, copyChunk, progress)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// copyChunk is how much a copy moves between checks of its context.
const copyChunk = 4 << 20

// Size is the total size of the bundle's files.
func (m *Manifest) Size() int64 {
	var n int64
	for _, f := range m.allFiles() {
		n += f.Size
	}
	return n
}

// GraphNames lists the graphs of the manifest, sorted.
func (m *Manifest) GraphNames() []string {
	var names []string
	for _, g := range m.Graphs {
		names = append(names, g.Name)
	}
	slices.Sort(names)
	return names
}
