package export

import (
	"github.com/viettts-studio/studio/inference"

	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// mp3Backend is the encoder that writes the MPEG audio of an MP3 export. Both put the same ID3v2
// tag (mp3Tag) in front and an Info frame with the encoder delay and padding as the first frame,
// so a file from either reads the same: same tags, chapters, cover, and the same decoded length.
type mp3Backend int

const (
	mp3Auto   mp3Backend = iota // libmp3lame compiled in where it is, else ffmpeg
	mp3LAME                     // libmp3lame through cgo (mp3_lame.go)
	mp3FFmpeg                   // ffmpeg's libmp3lame encoder, in a child process
)

func (b mp3Backend) resolve() mp3Backend {
	if b != mp3Auto {
		return b
	}
	if lameBuilt {
		return mp3LAME
	}
	return mp3FFmpeg
}

// mp3Status says whether backend b can write MP3 here and, when it cannot, what to install. When
// MP3 goes through ffmpeg, the note says so even though the format is available.
func mp3Status(b mp3Backend, ff ffmpegCaps) (ok bool, note inference.Reason) {
	if b.resolve() == mp3LAME {
		if lameBuilt {
			return true, inference.Reason{}
		}
		return false, FormatReasons.New("mp3-no-lame")
	}
	switch {
	case ff.path == "":
		return false, FormatReasons.New("mp3-ffmpeg-missing")
	case ff.problem.Code != "":
		return false, FormatReasons.New("mp3-ffmpeg-broken", "path", ff.problem.Params["path"], "error", ff.problem.Params["error"])
	case !ff.mp3:
		return false, FormatReasons.New("mp3-ffmpeg-no-lame", "path", ff.path)
	}
	return true, FormatReasons.New("mp3-via-ffmpeg", "path", ff.path)
}

// ffmpegMP3Args has ffmpeg encode mono float PCM at rate to CBR MP3 at kbps into out and write
// nothing but MPEG audio frames: no ID3v2 or ID3v1 tag (ours goes in front), and the Info frame
// (-write_xing, which needs a seekable output, hence a file rather than a pipe) that carries the
// frame count and the encoder delay and padding, as the LAME path's tag frame does. Quality 5 is
// what mp3_lame.go asks libmp3lame for.
func ffmpegMP3Args(rate, kbps int, out string) []string {
	return []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-f", "f32le", "-ar", fmt.Sprint(rate), "-ac", "1", "-i", "pipe:0",
		"-map", "0:a", "-map_metadata", "-1", "-map_chapters", "-1",
		"-c:a", "libmp3lame", "-b:a", fmt.Sprintf("%dk", kbps), "-compression_level", "5",
		"-ar", fmt.Sprint(rate), "-ac", "1",
		"-id3v2_version", "0", "-write_id3v1", "0", "-write_xing", "1",
		"-f", "mp3", out}
}

// ffmpegMP3File writes an MP3 through ffmpeg: our ID3v2 tag first, in the export's temporary file;
// ffmpeg encodes the stream into a side file beside it (seekable, so it can fill in the Info frame
// when it ends), which Close appends after the tag and removes. Memory stays constant; the disk
// holds the MP3 twice while Close copies it.
type ffmpegMP3File struct {
	f     *os.File // the export's temporary file, positioned after the tag
	final string   // the file's name once committed, for messages
	side  string   // ffmpeg's output
	enc   *ffmpegEncoder
}

func newFFmpegMP3File(ctx context.Context, ffmpeg string, t *tempFile, m fileMeta) (*ffmpegMP3File, error) {
	tag, err := mp3Tag(m).Bytes()
	if err != nil {
		return nil, err
	}
	if _, err := t.f.Write(tag); err != nil {
		return nil, err
	}
	side, err := os.CreateTemp(filepath.Dir(t.final), "."+filepath.Base(t.final)+".*.ffmpeg.part")
	if err != nil {
		return nil, err
	}
	if err := side.Close(); err != nil {
		os.Remove(side.Name())
		return nil, err
	}
	mf := &ffmpegMP3File{f: t.f, final: t.final, side: side.Name(), enc: &ffmpegEncoder{stderr: &bytes.Buffer{}}}
	if err := mf.enc.start(ctx, ffmpeg, ffmpegMP3Args(m.Rate, m.Bitrate, mf.side)); err != nil {
		os.Remove(mf.side)
		return nil, err
	}
	return mf, nil
}

func (m *ffmpegMP3File) Write(p []float32) error { return m.advise(m.enc.Write(p)) }

// Close waits for ffmpeg to finish the stream, then appends it after the tag.
func (m *ffmpegMP3File) Close() error {
	defer os.Remove(m.side)
	if err := m.enc.Close(); err != nil {
		return m.advise(err)
	}
	src, err := os.Open(m.side)
	if err != nil {
		return fmt.Errorf("reading what ffmpeg encoded: %w", err)
	}
	defer src.Close()
	// An ffmpeg that ignored -id3v2_version 0 would put a second tag before the audio: skip it.
	var head [10]byte
	if _, err := io.ReadFull(src, head[:]); err != nil {
		return fmt.Errorf("ffmpeg wrote no MP3 audio to %s (%v): run `ffmpeg -encoders` to check that its libmp3lame works, or export as FLAC", m.side, err)
	}
	start := int64(0)
	if string(head[:3]) == "ID3" {
		start = 10 + (int64(head[6])<<21 | int64(head[7])<<14 | int64(head[8])<<7 | int64(head[9]))
		if head[5]&0x10 != 0 { // footer present
			start += 10
		}
	}
	if _, err := src.Seek(start, io.SeekStart); err != nil {
		return err
	}
	n, err := io.Copy(m.f, src)
	if err != nil {
		return err // a write error on the export's file: describeEncode recognises a full disk
	}
	if n == 0 {
		return fmt.Errorf("ffmpeg wrote no MP3 audio after its tag: run `ffmpeg -encoders` to check that its libmp3lame works, or export as FLAC")
	}
	return nil
}

// advise adds what to do to an ffmpeg failure that is not the disk's.
func (m *ffmpegMP3File) advise(err error) error {
	if err == nil || errors.Is(err, ErrDiskFull) || errors.Is(err, ErrNotWritable) {
		return err
	}
	return fmt.Errorf("%w; MP3 is encoded through ffmpeg here: check that `ffmpeg -encoders` lists libmp3lame and that ffmpeg runs, or export as FLAC", err)
}

// abort stops ffmpeg and removes its side file; the export's temporary file is the caller's.
func (m *ffmpegMP3File) abort() {
	m.enc.abort()
	os.Remove(m.side)
}
