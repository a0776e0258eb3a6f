// Package testfs gives tests small real filesystems, to check what code does when a disk fills up.
package testfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Tmpfs mounts a tmpfs of size (mount's syntax: "1m", "256k") at a new folder and unmounts it when
// the test ends. It needs root; elsewhere the test is skipped, saying why.
func Tmpfs(t testing.TB, size string) string {
	t.Helper()
	return mount(t, "size="+size)
}

// ReadOnly mounts an empty read-only tmpfs at a new folder: nothing can be written in it. Like
// Tmpfs it needs root.
func ReadOnly(t testing.TB) string {
	t.Helper()
	return mount(t, "ro,size=1m")
}

func mount(t testing.TB, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%s) here (needs root): %v %s", opts, err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// Fill writes a file in dir until the disk is full and returns its path: removing it frees the
// space again.
func Fill(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	return path
}
