// Package ctxio copies streams that a context can stop: hashing a multi-gigabyte model file,
// writing a bundle, a download. A copy checks the context before every chunk, so a canceled
// install or download stops within one chunk instead of at the end of the file.
package ctxio

import (
	"context"
	"io"
)

// Copy copies src to dst in chunks of chunk bytes, checking ctx before each, and calls progress
// (when not nil) with the bytes copied so far after each chunk. It returns the bytes copied and
// the first error: ctx's, a read's or a write's; io.EOF ends the copy without an error.
func Copy(ctx context.Context, dst io.Writer, src io.Reader, chunk int, progress func(int64)) (int64, error) {
	buf := make([]byte, chunk)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := src.Read(buf)
		if k > 0 {
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
			if progress != nil {
				progress(n)
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
