package studio

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/viettts-studio/studio/inference/bundle"
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
}

// ModelProgress reports a model operation: a step of compiling or bytes of a file being
// downloaded or verified.
type ModelProgress struct {
	Stage string  `json:"stage"` // "download", "compile" or "verify"
	What  string  `json:"what"`
	Done  float64 `json:"done"` // 0-1 within the stage; -1 when unknown
}

// Model describes the bundle in the model folder.
func (s *Studio) Model() ModelInfo {
	dir := s.dirs.Model()
	info := ModelInfo{Dir: dir}
	b, err := bundle.Open(dir)
	if err != nil {
		if !errors.Is(err, bundle.ErrNotInstalled) {
			info.Problem = err.Error()
		}
		return info
	}
	m := b.Manifest
	info.Installed, info.ModelID, info.Random, info.License = true, m.ModelID, m.Random, m.License
	info.Bytes, info.Graphs, info.Voices = m.Size(), len(m.Graphs), len(m.Voices)
	return info
}

// InstallModel compiles the official checkpoint files in folder from into the model folder.
func (s *Studio) InstallModel(ctx context.Context, from string, progress func(ModelProgress)) (ModelInfo, error) {
	if from == "" {
		return ModelInfo{}, errors.New("choose the folder that holds llm.pt, flow.pt, hift.pt and config.yaml")
	}
	if _, err := os.Stat(filepath.Join(from, "llm.pt")); err != nil {
		return ModelInfo{}, fmt.Errorf("%s has no llm.pt: choose the folder of the downloaded VietTTS checkpoint (llm.pt, flow.pt, hift.pt, config.yaml)", from)
	}
	if err := s.compile(ctx, compiler.Source{Dir: from}, progress); err != nil {
		return ModelInfo{}, err
	}
	return s.Model(), nil
}

// DownloadModel downloads the official checkpoint (resuming partial files), checks each file's
// hash, compiles it into the model folder and removes the downloads. endpoint and tokenizerURL
// override the Hugging Face endpoint and the tokenizer address ("" for the defaults).
func (s *Studio) DownloadModel(ctx context.Context, endpoint, tokenizerURL string, progress func(ModelProgress)) (ModelInfo, error) {
	files := download.Official(endpoint, tokenizerURL)
	dl := filepath.Join(s.dirs.Cache, "downloads", filepath.Base(s.dirs.Model()))
	c := &download.Client{Log: s.log, Progress: func(file string, done, total int64) {
		report(progress, ModelProgress{Stage: "download", What: file, Done: fraction(done, total)})
	}}
	for _, f := range files {
		if _, err := c.Fetch(ctx, f, dl); err != nil {
			if ctx.Err() != nil {
				return ModelInfo{}, fmt.Errorf("download stopped: %w (start it again to resume where it stopped)", err)
			}
			return ModelInfo{}, fmt.Errorf("downloading %s: %w (check the internet connection and try again; finished files are kept)", f.Name, err)
		}
	}
	if err := s.compile(ctx, compiler.Source{Dir: dl}, progress); err != nil {
		return ModelInfo{}, err
	}
	for _, f := range files {
		os.Remove(filepath.Join(dl, f.Name))
	}
	os.Remove(dl)
	return s.Model(), nil
}

func (s *Studio) compile(ctx context.Context, src compiler.Source, progress func(ModelProgress)) error {
	_, err := compiler.Compile(ctx, src, s.dirs.Model(), compiler.Options{Progress: func(n, total int, what string) {
		report(progress, ModelProgress{Stage: "compile", What: what, Done: fraction(int64(n), int64(total))})
	}})
	if err != nil {
		return fmt.Errorf("installing the model: %w", err)
	}
	return nil
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
