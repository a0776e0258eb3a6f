//go:build !cgo || nolame

package export

import (
	"errors"
	"io"
)

func mp3Available() (bool, string) {
	return false, "this build has no MP3 encoder (it was built without cgo or libmp3lame)"
}

type lameEncoder struct{ lametag []byte }

func newMP3Encoder(io.Writer, int, int) (*lameEncoder, error) {
	return nil, errors.New("MP3 export is not available in this build: it needs libmp3lame (cgo)")
}

func (*lameEncoder) Write([]float32) error { return nil }
func (*lameEncoder) Close() error          { return nil }
