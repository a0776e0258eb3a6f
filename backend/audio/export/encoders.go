package export

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/mewkiz/flac"
	"github.com/mewkiz/flac/frame"
	"github.com/mewkiz/flac/meta"
)

// encoder turns float PCM at the export rate into one file.
type encoder interface {
	Write(p []float32) error
	// Close finishes the file (trailers, headers that need the length); it does not sync.
	Close() error
}

// fileMeta is what one output file is tagged with.
type fileMeta struct {
	Title, Album, Author, Narrator, Track string
	Cover                                 []byte
	Chapters                              []fileChapter
	Rate                                  int
	Bitrate                               int // kbps, lossy formats
}

// fileChapter is a chapter of one output file, in seconds from the file's start.
type fileChapter struct {
	Title      string
	Start, End float64
}

// toInt16 converts with rounding and saturation.
func toInt16(v float32) int16 {
	x := math.Round(float64(v) * 32767)
	return int16(max(-32768, min(32767, x)))
}

// ---- WAV ----

// wavEncoder writes 16-bit PCM mono RIFF/WAVE, patching the sizes at Close.
type wavEncoder struct {
	f   *os.File
	w   *bufio.Writer
	n   int64 // data bytes
	buf []byte
}

func newWAVEncoder(f *os.File, rate int) (*wavEncoder, error) {
	e := &wavEncoder{f: f, w: bufio.NewWriterSize(f, 1<<16)}
	var h [44]byte
	copy(h[0:], "RIFF")
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:], 1) // mono
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*2))
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	_, err := e.w.Write(h[:])
	return e, err
}

func (e *wavEncoder) Write(p []float32) error {
	e.buf = e.buf[:0]
	for _, v := range p {
		e.buf = binary.LittleEndian.AppendUint16(e.buf, uint16(toInt16(v)))
	}
	e.n += int64(len(e.buf))
	if e.n > math.MaxUint32-36 {
		return errors.New("a WAV file cannot hold more than 4 GB: export as FLAC or split per chapter")
	}
	_, err := e.w.Write(e.buf)
	return err
}

func (e *wavEncoder) Close() error {
	if err := e.w.Flush(); err != nil {
		return err
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(36+e.n))
	if _, err := e.f.WriteAt(b[:], 4); err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(b[:], uint32(e.n))
	_, err := e.f.WriteAt(b[:], 40)
	return err
}

// ---- FLAC ----

// flacEncoder writes 16-bit mono FLAC with the pure-Go encoder of github.com/mewkiz/flac, with a
// Vorbis comment (title, artist, chapters as CHAPTERnnn tags) and the cover as a PICTURE block.
type flacEncoder struct {
	out     *captureWriter
	enc     *flac.Encoder
	w       *bufio.Writer
	pending []int32
	rate    int
}

const flacBlock = 4096

// seekBuffered lets the FLAC encoder patch its STREAMINFO through a buffered file.
type seekBuffered struct {
	*bufio.Writer
	f *os.File
}

func (s seekBuffered) Seek(off int64, whence int) (int64, error) {
	if err := s.Flush(); err != nil {
		return 0, err
	}
	return s.f.Seek(off, whence)
}

func newFLACEncoder(f *os.File, m fileMeta) (*flacEncoder, error) {
	info := &meta.StreamInfo{
		BlockSizeMin: flacBlock, BlockSizeMax: flacBlock,
		SampleRate: uint32(m.Rate), NChannels: 1, BitsPerSample: 16,
	}
	tags := [][2]string{{"TITLE", m.Title}, {"ALBUM", m.Album}, {"ARTIST", m.Author}, {"PERFORMER", m.Narrator},
		{"NARRATOR", m.Narrator}, {"TRACKNUMBER", m.Track}, {"GENRE", "Audiobook"}}
	var vc meta.VorbisComment
	vc.Vendor = "VietTTS Studio"
	for _, t := range tags {
		if t[1] != "" {
			vc.Tags = append(vc.Tags, t)
		}
	}
	for i, c := range m.Chapters {
		vc.Tags = append(vc.Tags,
			[2]string{fmt.Sprintf("CHAPTER%03d", i+1), clock(c.Start, ".")},
			[2]string{fmt.Sprintf("CHAPTER%03dNAME", i+1), c.Title})
	}
	blocks := []*meta.Block{{Header: meta.Header{Type: meta.TypeVorbisComment, Length: 1 /* any non-zero: the encoder sizes the block */}, Body: &vc}}
	if len(m.Cover) > 0 {
		mime, err := imageMIME(m.Cover)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, &meta.Block{Header: meta.Header{Type: meta.TypePicture, Length: 1},
			Body: &meta.Picture{Type: 3, MIME: mime, Data: m.Cover}})
	}
	cw := &captureWriter{w: f}
	w := bufio.NewWriterSize(cw, 1<<16)
	enc, err := flac.NewEncoder(seekBuffered{w, f}, info, blocks...)
	if err != nil {
		return nil, cw.cause(fmt.Errorf("starting the FLAC stream: %w", err))
	}
	return &flacEncoder{out: cw, enc: enc, w: w, rate: m.Rate}, nil
}

func (e *flacEncoder) Write(p []float32) error {
	for _, v := range p {
		e.pending = append(e.pending, int32(toInt16(v)))
		if len(e.pending) == flacBlock {
			if err := e.frame(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *flacEncoder) frame() error {
	n := len(e.pending)
	samples := make([]int32, n)
	copy(samples, e.pending)
	e.pending = e.pending[:0]
	f := &frame.Frame{
		Header: frame.Header{
			HasFixedBlockSize: true, BlockSize: uint16(n), SampleRate: uint32(e.rate),
			Channels: frame.ChannelsMono, BitsPerSample: 16,
		},
		Subframes: []*frame.Subframe{{
			SubHeader: frame.SubHeader{Pred: frame.PredVerbatim},
			Samples:   samples, NSamples: n,
		}},
	}
	if err := e.enc.WriteFrame(f); err != nil {
		return e.out.cause(fmt.Errorf("encoding FLAC: %w", err))
	}
	return nil
}

func (e *flacEncoder) Close() error {
	if len(e.pending) > 0 {
		if err := e.frame(); err != nil {
			return err
		}
	}
	if err := e.w.Flush(); err != nil {
		return err
	}
	if err := e.enc.Close(); err != nil {
		return e.out.cause(err)
	}
	return e.w.Flush()
}

// captureWriter remembers the first write error, because the FLAC encoder's errors flatten the
// chain and a full disk must stay recognisable.
type captureWriter struct {
	w   io.Writer
	err error
}

func (c *captureWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// cause returns the underlying write error if there was one, else err.
func (c *captureWriter) cause(err error) error {
	if c.err != nil {
		return c.err
	}
	return err
}

// ---- MP3 ----

// mp3File writes the ID3v2 tag, then CBR MP3 frames from libmp3lame compiled in (mp3_lame.go).
// Builds without it write MP3 through ffmpeg instead (ffmpegMP3File).
type mp3File struct {
	f      *os.File
	w      *bufio.Writer
	enc    *lameEncoder
	tagEnd int64 // where the first MP3 frame starts: after the ID3v2 tag
}

// mp3Tag is the ID3v2 tag of an MP3 file, whichever encoder writes the audio after it.
func mp3Tag(m fileMeta) id3Tag {
	tag := id3Tag{Title: m.Title, Album: m.Album, Author: m.Author, Narrator: m.Narrator, Track: m.Track, Cover: m.Cover}
	for _, c := range m.Chapters {
		tag.Chapters = append(tag.Chapters, id3Chapter{Title: c.Title,
			StartMS: uint32(math.Round(c.Start * 1000)), EndMS: uint32(math.Round(c.End * 1000))})
	}
	return tag
}

func newMP3File(f *os.File, m fileMeta) (*mp3File, error) {
	b, err := mp3Tag(m).Bytes()
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	enc, err := newMP3Encoder(w, m.Rate, m.Bitrate)
	if err != nil {
		return nil, err
	}
	return &mp3File{f: f, w: w, enc: enc, tagEnd: int64(len(b))}, nil
}

func (m *mp3File) Write(p []float32) error { return m.enc.Write(p) }

func (m *mp3File) Close() error {
	if err := m.enc.Close(); err != nil {
		return err
	}
	if err := m.w.Flush(); err != nil {
		return err
	}
	if len(m.enc.lametag) > 0 {
		if _, err := m.f.WriteAt(m.enc.lametag, m.tagEnd); err != nil {
			return err
		}
	}
	return nil
}

// ---- ffmpeg (Opus in Ogg, AAC in M4B) ----

// vorbisPicture encodes a cover as the METADATA_BLOCK_PICTURE comment of Ogg files: a FLAC
// PICTURE block (front cover, MIME type, no description, dimensions left 0 = unknown), base64.
func vorbisPicture(img []byte) (string, error) {
	mime, err := imageMIME(img)
	if err != nil {
		return "", err
	}
	var b []byte
	b = binary.BigEndian.AppendUint32(b, 3) // front cover
	b = binary.BigEndian.AppendUint32(b, uint32(len(mime)))
	b = append(b, mime...)
	b = binary.BigEndian.AppendUint32(b, 0) // description length
	b = append(b, make([]byte, 16)...)      // width, height, depth, colours: unknown
	b = binary.BigEndian.AppendUint32(b, uint32(len(img)))
	b = append(b, img...)
	return base64.StdEncoding.EncodeToString(b), nil
}

// ffmpegEncoder pipes float PCM into ffmpeg, which writes the file at a reserved temporary path.
type ffmpegEncoder struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	w      *bufio.Writer
	stderr *bytes.Buffer
	buf    []byte
	files  []string // temporary side files (metadata, cover) removed at Close
	done   bool
}

// ffmetadata renders tags and chapters in ffmpeg's FFMETADATA1 format. pic, if not empty, is a
// cover for Ogg: a base64 FLAC picture block, the Vorbis-comment way of carrying one.
func ffmetadata(m fileMeta, pic string) string {
	esc := func(s string) string {
		r := strings.NewReplacer("\\", "\\\\", "=", "\\=", ";", "\\;", "#", "\\#", "\n", "\\\n")
		return r.Replace(s)
	}
	var b strings.Builder
	b.WriteString(";FFMETADATA1\n")
	for _, kv := range [][2]string{{"title", m.Title}, {"album", m.Album}, {"artist", m.Author},
		{"album_artist", m.Author}, {"composer", m.Narrator}, {"performer", m.Narrator},
		{"track", m.Track}, {"genre", "Audiobook"}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%s=%s\n", kv[0], esc(kv[1]))
		}
	}
	if pic != "" {
		fmt.Fprintf(&b, "METADATA_BLOCK_PICTURE=%s\n", esc(pic))
	}
	for _, c := range m.Chapters {
		fmt.Fprintf(&b, "[CHAPTER]\nTIMEBASE=1/1000\nSTART=%d\nEND=%d\ntitle=%s\n",
			int64(math.Round(c.Start*1000)), int64(math.Round(c.End*1000)), esc(c.Title))
	}
	return b.String()
}

func newFFmpegEncoder(ctx context.Context, ffmpeg string, format Format, out string, m fileMeta) (*ffmpegEncoder, error) {
	e := &ffmpegEncoder{stderr: &bytes.Buffer{}}
	mf, err := os.CreateTemp("", "viettts-ffmeta-*.txt")
	if err != nil {
		return nil, fmt.Errorf("writing the chapter list for ffmpeg: %w", err)
	}
	e.files = append(e.files, mf.Name())
	pic := ""
	if len(m.Cover) > 0 && format == Opus {
		if pic, err = vorbisPicture(m.Cover); err != nil {
			e.cleanup()
			return nil, err
		}
	}
	_, err = mf.WriteString(ffmetadata(m, pic))
	if cerr := mf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		e.cleanup()
		return nil, fmt.Errorf("writing the chapter list for ffmpeg: %w", err)
	}
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-f", "f32le", "-ar", fmt.Sprint(m.Rate), "-ac", "1", "-i", "pipe:0",
		"-i", mf.Name()}
	cover := ""
	if len(m.Cover) > 0 && format == M4B {
		mime, err := imageMIME(m.Cover)
		if err != nil {
			e.cleanup()
			return nil, err
		}
		ext := ".jpg"
		if mime == "image/png" {
			ext = ".png"
		}
		cf, err := os.CreateTemp("", "viettts-cover-*"+ext)
		if err != nil {
			e.cleanup()
			return nil, err
		}
		e.files = append(e.files, cf.Name())
		_, err = cf.Write(m.Cover)
		if cerr := cf.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			e.cleanup()
			return nil, err
		}
		cover = cf.Name()
		args = append(args, "-i", cover)
	}
	args = append(args, "-map", "0:a", "-map_metadata", "1", "-map_chapters", "1")
	switch format {
	case Opus:
		args = append(args, "-c:a", "libopus", "-b:a", fmt.Sprintf("%dk", m.Bitrate), "-application", "voip", "-f", "ogg")
	case M4B:
		if cover != "" {
			args = append(args, "-map", "2:v", "-c:v", "copy", "-disposition:v:0", "attached_pic")
		}
		args = append(args, "-c:a", "aac", "-b:a", fmt.Sprintf("%dk", m.Bitrate), "-movflags", "+faststart", "-f", "ipod")
	default:
		e.cleanup()
		return nil, fmt.Errorf("ffmpeg does not encode %s here", format)
	}
	args = append(args, out)
	if err := e.start(ctx, ffmpeg, args); err != nil {
		return nil, err
	}
	return e, nil
}

// start runs ffmpeg with args, its standard input open for float PCM. On failure it removes the
// side files.
func (e *ffmpegEncoder) start(ctx context.Context, ffmpeg string, args []string) error {
	e.cmd = exec.CommandContext(ctx, ffmpeg, args...)
	hideConsole(e.cmd)
	e.cmd.Stderr = e.stderr
	e.cmd.WaitDelay = 5 * time.Second
	stdin, err := e.cmd.StdinPipe()
	if err != nil {
		e.cleanup()
		return err
	}
	e.stdin = stdin
	e.w = bufio.NewWriterSize(stdin, 1<<16)
	if err := e.cmd.Start(); err != nil {
		e.cleanup()
		return fmt.Errorf("starting ffmpeg (%s): %w; install ffmpeg or set VIETTTS_FFMPEG to its path", ffmpeg, err)
	}
	return nil
}

func (e *ffmpegEncoder) Write(p []float32) error {
	e.buf = e.buf[:0]
	for _, v := range p {
		e.buf = binary.LittleEndian.AppendUint32(e.buf, math.Float32bits(v))
	}
	if _, err := e.w.Write(e.buf); err != nil {
		return e.fail(err)
	}
	return nil
}

// fail waits for ffmpeg after a broken pipe and reports what ffmpeg said.
func (e *ffmpegEncoder) fail(err error) error {
	e.stdin.Close()
	if werr := e.cmd.Wait(); werr != nil {
		err = werr // the pipe broke because ffmpeg stopped: its exit and its words say why
	}
	e.done = true
	e.cleanup()
	return e.explain(err)
}

func (e *ffmpegEncoder) explain(err error) error {
	msg := strings.TrimSpace(e.stderr.String())
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 && len(msg) > 600 {
		msg = msg[i+1:]
	}
	low := strings.ToLower(msg)
	if strings.Contains(low, "no space left") || strings.Contains(low, "file too large") {
		return fmt.Errorf("%w: ffmpeg could not finish the file (%s): free some space on that disk or export to another folder", ErrDiskFull, msg)
	}
	if strings.Contains(low, "permission denied") {
		return fmt.Errorf("%w: ffmpeg could not write the file (%s): choose a folder you can write to", ErrNotWritable, msg)
	}
	if msg == "" {
		return fmt.Errorf("ffmpeg failed: %w", err)
	}
	return fmt.Errorf("ffmpeg failed: %s (%w)", msg, err)
}

func (e *ffmpegEncoder) Close() error {
	if e.done {
		return nil
	}
	e.done = true
	defer e.cleanup()
	ferr := e.w.Flush()
	cerr := e.stdin.Close()
	werr := e.cmd.Wait()
	if werr != nil || ferr != nil || cerr != nil {
		return e.explain(errors.Join(werr, ferr, cerr))
	}
	return nil
}

// abort stops ffmpeg without finishing the file.
func (e *ffmpegEncoder) abort() {
	if e.done {
		return
	}
	e.done = true
	e.stdin.Close()
	if e.cmd.Process != nil {
		e.cmd.Process.Kill()
	}
	e.cmd.Wait()
	e.cleanup()
}

func (e *ffmpegEncoder) cleanup() {
	for _, f := range e.files {
		os.Remove(f)
	}
	e.files = nil
}
