package bundle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/viettts-studio/studio/inference/ctxio"
)

const (
	partialSuffix = ".partial"
	oldSuffix     = ".old"
)

// Writer builds a bundle in "<dir>.partial" and moves it to dir on Commit. It is used from one
// goroutine.
type Writer struct {
	dir       string
	tmp       string
	graphs    []Graph
	files     []File
	paths     map[string]bool
	committed bool
}

// Create starts a bundle that will live in dir. A ".partial" folder left by an interrupted
// build is removed (the build starts over); a bundle already in dir stays usable until Commit
// replaces it.
func Create(dir string) (*Writer, error) {
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the model folder %s: %w", filepath.Dir(dir), err)
	}
	recoverOld(dir)
	if err := replaceable(dir); err != nil {
		return nil, err
	}
	tmp := dir + partialSuffix
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("cannot remove the unfinished install %s: %w (delete it by hand)", tmp, err)
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", tmp, err)
	}
	return &Writer{dir: dir, tmp: tmp, paths: map[string]bool{}}, nil
}

// replaceable refuses a destination that exists and is neither empty nor a bundle: Commit moves
// the old folder aside and deletes it, which must never happen to a user's own files.
func replaceable(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot use %s for the model: %w", dir, err)
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err == nil {
		return nil
	}
	return fmt.Errorf("folder %s already holds files and is not a model bundle: choose a new or empty folder for the model", dir)
}

// recoverOld puts back a bundle that a crash left renamed to "<dir>.old" during Commit.
func recoverOld(dir string) {
	old := dir + oldSuffix
	if _, err := os.Stat(filepath.Join(old, ManifestFile)); err != nil {
		return // not ours: leave it alone
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		os.Rename(old, dir)
		return
	}
	os.RemoveAll(old)
}

// StagingDir is the folder being written.
func (w *Writer) StagingDir() string { return w.tmp }

func (w *Writer) claim(rel string) (string, error) {
	if !localPath(rel) {
		return "", fmt.Errorf("bundle file path %q is not inside the bundle", rel)
	}
	if w.paths[rel] {
		return "", fmt.Errorf("bundle file %s is written twice", rel)
	}
	w.paths[rel] = true
	p := filepath.Join(w.tmp, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("cannot create %s: %w", filepath.Dir(p), err)
	}
	return p, nil
}

// FileWriter writes one file of the bundle, hashing as it goes. Close syncs it and records it.
type FileWriter struct {
	w    *Writer
	f    *os.File
	h    hash.Hash
	n    int64
	rel  string
	role string
	// onClose records the finished file.
	onClose func(File)
}

// Write implements io.Writer.
func (fw *FileWriter) Write(p []byte) (int, error) {
	n, err := fw.f.Write(p)
	fw.h.Write(p[:n])
	fw.n += int64(n)
	return n, err
}

// Close syncs the file to disk and records it in the bundle.
func (fw *FileWriter) Close() error {
	if fw.f == nil {
		return errors.New("bundle file closed twice")
	}
	err := fw.f.Sync()
	if cerr := fw.f.Close(); err == nil {
		err = cerr
	}
	fw.f = nil
	if err != nil {
		return fmt.Errorf("cannot write %s: %w (is the disk full?)", fw.rel, err)
	}
	fw.onClose(File{Path: fw.rel, Size: fw.n, SHA256: hex.EncodeToString(fw.h.Sum(nil)), Role: fw.role})
	return nil
}

func (w *Writer) create(rel, role string, onClose func(File)) (*FileWriter, error) {
	p, err := w.claim(rel)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", p, err)
	}
	return &FileWriter{w: w, f: f, h: sha256.New(), rel: rel, role: role, onClose: onClose}, nil
}

// CreateFile starts a non-graph file at rel (slash-separated, inside the bundle).
func (w *Writer) CreateFile(rel, role string) (*FileWriter, error) {
	return w.create(rel, role, func(f File) { w.files = append(w.files, f) })
}

// CreateGraph starts the ONNX file of graph name ("<name>.onnx").
func (w *Writer) CreateGraph(name, precision string) (*FileWriter, error) {
	return w.create(name+".onnx", "", func(f File) {
		w.graphs = append(w.graphs, Graph{Name: name, File: f, Precision: precision})
	})
}

// WriteGraph writes a whole serialized graph.
func (w *Writer) WriteGraph(name, precision string, model []byte) (Graph, error) {
	fw, err := w.CreateGraph(name, precision)
	if err != nil {
		return Graph{}, err
	}
	if _, err := fw.Write(model); err != nil {
		fw.Close()
		return Graph{}, fmt.Errorf("cannot write graph %s: %w (is the disk full?)", name, err)
	}
	if err := fw.Close(); err != nil {
		return Graph{}, err
	}
	return w.graphs[len(w.graphs)-1], nil
}

// CopyFile copies the file at src into the bundle at rel. graph, when not empty, records it as
// a graph of that name (the publisher's speech tokenizer and speaker-embedding models).
func (w *Writer) CopyFile(ctx context.Context, src, rel, role, graph string, progress func(done int64)) (File, error) {
	in, err := os.Open(src)
	if err != nil {
		return File{}, fmt.Errorf("cannot read %s: %w", src, err)
	}
	defer in.Close()
	var got File
	record := func(f File) {
		got = f
		if graph != "" {
			w.graphs = append(w.graphs, Graph{Name: graph, File: f, Precision: "fp32"})
		} else {
			w.files = append(w.files, f)
		}
	}
	fw, err := w.create(rel, role, record)
	if err != nil {
		return File{}, err
	}
	if _, err := ctxio.Copy(ctx, fw, in, copyChunk, progress); err != nil {
		fw.f.Close()
		return File{}, fmt.Errorf("cannot copy %s into the model bundle: %w", src, err)
	}
	if err := fw.Close(); err != nil {
		return File{}, err
	}
	return got, nil
}

// Commit writes the manifest (m, completed with the files written through w), syncs it, and
// moves the bundle into place, replacing any bundle already there. After Commit the Writer is
// spent.
func (w *Writer) Commit(m *Manifest) error {
	if w.committed {
		return errors.New("bundle already committed")
	}
	m.Format = FormatVersion
	if m.Created.IsZero() {
		m.Created = time.Now().UTC().Truncate(time.Second)
	}
	m.Graphs = append(m.Graphs, w.graphs...)
	m.Files = append(m.Files, w.files...)
	if err := m.check(); err != nil {
		return fmt.Errorf("model bundle: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("model bundle manifest: %w", err)
	}
	if err := writeSynced(filepath.Join(w.tmp, ManifestFile), append(b, '\n')); err != nil {
		return err
	}
	if err := syncDir(w.tmp); err != nil {
		return err
	}
	old := w.dir + oldSuffix
	hadOld := false
	if _, err := os.Stat(w.dir); err == nil {
		if _, err := os.Stat(old); err == nil {
			if err := replaceable(old); err != nil {
				return fmt.Errorf("cannot move the previous model aside: %w", err)
			}
			os.RemoveAll(old)
		}
		if err := os.Rename(w.dir, old); err != nil {
			return fmt.Errorf("cannot move the previous model %s aside: %w", w.dir, err)
		}
		hadOld = true
	}
	if err := os.Rename(w.tmp, w.dir); err != nil {
		if hadOld {
			os.Rename(old, w.dir)
		}
		return fmt.Errorf("cannot move the new model into %s: %w", w.dir, err)
	}
	w.committed = true
	syncDir(filepath.Dir(w.dir))
	if hadOld {
		os.RemoveAll(old)
	}
	return nil
}

// Abort removes the unfinished bundle. It is a no-op after Commit.
func (w *Writer) Abort() error {
	if w.committed {
		return nil
	}
	return os.RemoveAll(w.tmp)
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write %s: %w (is the disk full?)", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("cannot sync %s: %w", dir, err)
	}
	return nil
}

var _ io.WriteCloser = (*FileWriter)(nil)
