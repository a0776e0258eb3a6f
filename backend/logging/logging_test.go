package logging

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRecordsGoToTheFileAndToStderr(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	log, c, err := Open(dir, &stderr, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("giọng đọc sẵn sàng", "instances", 2)
	c.Close()
	data, _ := os.ReadFile(filepath.Join(dir, FileName))
	for _, out := range []string{string(data), stderr.String()} {
		if !strings.Contains(out, "giọng đọc sẵn sàng") || !strings.Contains(out, "instances") {
			t.Fatalf("record missing from %q", out)
		}
	}
}

func TestAnUnwritableFolderStillGivesAStderrLogger(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	var stderr bytes.Buffer
	log, _, err := Open(filepath.Join(file, "logs"), &stderr, slog.LevelInfo)
	if err == nil {
		t.Fatal("want an error for a log folder under a file")
	}
	log.Info("still logging")
	if !strings.Contains(stderr.String(), "still logging") {
		t.Fatal("stderr logger does not work")
	}
}
