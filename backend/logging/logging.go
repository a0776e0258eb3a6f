// Package logging sets up the app's log: log/slog records to a file in the data folder (kept for
// bug reports) and to stderr.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// FileName is the log file inside the logs folder.
const FileName = "studio.log"

// maxBytes is the size past which the log file is rotated to studio.log.1 at start-up.
const maxBytes = 10 << 20

// Open returns a logger writing text records to dir/studio.log and to stderr, and a closer for the
// file. A log file that cannot be opened is not fatal: the logger then writes to stderr only and
// the error is returned alongside it.
func Open(dir string, stderr io.Writer, level slog.Level) (*slog.Logger, io.Closer, error) {
	opts := &slog.HandlerOptions{Level: level}
	console := slog.NewTextHandler(stderr, opts)
	path := filepath.Join(dir, FileName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return slog.New(console), io.NopCloser(nil), fmt.Errorf("cannot create log folder %s: %w", dir, err)
	}
	if st, err := os.Stat(path); err == nil && st.Size() > maxBytes {
		os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return slog.New(console), io.NopCloser(nil), fmt.Errorf("cannot open log file %s: %w", path, err)
	}
	return slog.New(slog.NewMultiHandler(slog.NewJSONHandler(f, opts), console)), f, nil
}
