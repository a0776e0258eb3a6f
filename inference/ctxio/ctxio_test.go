package ctxio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"
)

func TestCopyCopiesEverythingAndReportsProgress(t *testing.T) {
	src := bytes.Repeat([]byte("ạbc"), 1000) // 5000 bytes: "ạ" is three
	var dst bytes.Buffer
	var seen []int64
	n, err := Copy(t.Context(), &dst, bytes.NewReader(src), 1024, func(n int64) { seen = append(seen, n) })
	if err != nil || n != int64(len(src)) || !bytes.Equal(dst.Bytes(), src) {
		t.Fatalf("copied %d bytes, err %v, equal %v", n, err, bytes.Equal(dst.Bytes(), src))
	}
	if want := []int64{1024, 2048, 3072, 4096, 5000}; !slices.Equal(seen, want) {
		t.Errorf("progress %v, want %v", seen, want)
	}
}

// cancelAfter cancels its context once the given number of bytes have been read.
type cancelAfter struct {
	r      io.Reader
	left   int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.left -= n; c.left <= 0 {
		c.cancel()
	}
	return n, err
}

func TestCopyStopsWithinAChunkOfCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	src := &cancelAfter{r: bytes.NewReader(make([]byte, 1<<20)), left: 3000, cancel: cancel}
	var dst bytes.Buffer
	n, err := Copy(ctx, &dst, src, 1024, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if n != 3072 || dst.Len() != 3072 {
		t.Errorf("copied %d (%d written), want the 3 chunks read before the cancel", n, dst.Len())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCopyReturnsTheWriteError(t *testing.T) {
	_, err := Copy(t.Context(), failingWriter{}, bytes.NewReader([]byte("abc")), 2, nil)
	if err == nil || err.Error() != "disk full" {
		t.Errorf("err %v, want the writer's", err)
	}
}
