//go:build !cgo || nolame

package export

import (
	"errors"
	"io"
)

// lameBuilt says libmp3lame is compiled in. It is not in this build (no cgo, or -tags nolame as the
// Windows build has no mingw libmp3lame), so MP3 goes through ffmpeg with libmp3lame (mp3_ffmpeg.go).
const lameBuilt = false

// lameEncoder exists so that newMP3File compiles; mp3Status never picks it in this build.
type lameEncoder struct{ lametag []byte }

func newMP3Encoder(io.Writer, int, int) (*lameEncoder, error) {
	return nil, errors.New("this build has no built-in MP3 encoder (libmp3lame through cgo): MP3 goes through ffmpeg with libmp3lame")
}

func (*lameEncoder) Write([]float32) error { return nil }
func (*lameEncoder) Close() error          { return nil }
