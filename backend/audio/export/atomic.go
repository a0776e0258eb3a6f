package export

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrDiskFull is wrapped by export errors caused by a full disk (or a file-size limit).
var ErrDiskFull = errors.New("not enough disk space")

// ErrNotWritable is wrapped by export errors caused by a folder the user may not write to.
var ErrNotWritable = errors.New("folder not writable")

// pending is a set of files being written under temporary names in their target folders. Nothing
// appears under a final name until commit, which renames them all; abort removes them all.
type pending struct {
	files []*tempFile
}

type tempFile struct {
	final string
	tmp   string
	f     *os.File // nil once closed
}

// create opens a temporary file in the folder of final. The temporary name starts with a dot and
// ends in .part, so a crash leaves something recognisable that no player lists.
func (p *pending) create(final string) (*tempFile, error) {
	dir := filepath.Dir(final)
	f, err := os.CreateTemp(dir, "."+filepath.Base(final)+".*.part")
	if err != nil {
		return nil, describe(err, final)
	}
	t := &tempFile{final: final, tmp: f.Name(), f: f}
	p.files = append(p.files, t)
	return t, nil
}

// reserve names a temporary path in the folder of final for a tool that writes the file itself
// (ffmpeg); the file is created empty so the name is taken.
func (p *pending) reserve(final string) (*tempFile, error) {
	t, err := p.create(final)
	if err != nil {
		return nil, err
	}
	if err := t.f.Close(); err != nil {
		return nil, describe(err, final)
	}
	t.f = nil
	return t, nil
}

// finish syncs and closes a temporary file (reopening it if a tool wrote it).
func (t *tempFile) finish() error {
	if t.f == nil {
		f, err := os.OpenFile(t.tmp, os.O_RDWR, 0)
		if err != nil {
			return describe(err, t.final)
		}
		t.f = f
	}
	err := t.f.Sync()
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	t.f = nil
	if err != nil {
		return describe(err, t.final)
	}
	return nil
}

// commit finishes every file and renames them into place, then syncs the folders.
func (p *pending) commit() error {
	for _, t := range p.files {
		if err := t.finish(); err != nil {
			return err
		}
	}
	dirs := map[string]bool{}
	for _, t := range p.files {
		if err := os.Chmod(t.tmp, 0o644); err != nil {
			return describe(err, t.final)
		}
		if err := os.Rename(t.tmp, t.final); err != nil {
			return describe(err, t.final)
		}
		dirs[filepath.Dir(t.final)] = true
	}
	for d := range dirs {
		if f, err := os.Open(d); err == nil {
			_ = f.Sync() // best effort: not every file system syncs folders
			f.Close()
		}
	}
	p.files = nil
	return nil
}

// abort removes every temporary file.
func (p *pending) abort() {
	for _, t := range p.files {
		if t.f != nil {
			t.f.Close()
		}
		os.Remove(t.tmp)
	}
	p.files = nil
}

// describe turns a file-system error into one that says what to do.
func describe(err error, path string) error {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EFBIG):
		return fmt.Errorf("%w writing %s: free some space on that disk or export to another folder (%v)", ErrDiskFull, path, err)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w: cannot write %s: choose a folder you can write to (%v)", ErrNotWritable, path, err)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot write %s: the folder does not exist; create it or choose another (%v)", path, err)
	}
	return fmt.Errorf("writing %s: %w", path, err)
}

// checkFolder fails early, before any audio work, if the folder of path cannot take files.
func checkFolder(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return describe(err, path)
	}
	if !st.IsDir() {
		return fmt.Errorf("cannot write %s: %s is not a folder", path, dir)
	}
	f, err := os.CreateTemp(dir, ".viettts-write-check-*")
	if err != nil {
		return describe(err, path)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func isErrno(err error) bool {
	var e syscall.Errno
	return errors.As(err, &e)
}
