// Package export writes a book's audio to files: WAV, FLAC (pure Go), MP3 (libmp3lame compiled in,
// or ffmpeg's libmp3lame in builds without it, with our own ID3v2.4 tag carrying title, author,
// narrator, cover and CHAP/CTOC chapters), Opus in Ogg and AAC in M4B (both through ffmpeg where it
// is installed), one file per book or per chapter, with SRT or
// WebVTT subtitles timed to the sentences.
//
// An export makes two streaming passes over the book's segments: the first assembles and measures
// (loudness, timeline), the second assembles again, resamples to the output rate, applies the gain
// and the true-peak limiter, and encodes. Every file is written under a temporary name in its
// target folder and renamed into place only when all of them are complete, so a failure (a full
// disk, a folder the user may not write to, a canceled export) leaves nothing half-written.
package export

import (
	"github.com/viettts-studio/studio/inference"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/viettts-studio/studio/backend/audio"
	"github.com/viettts-studio/studio/inference/dsp"
)

// Format is an output file format.
type Format string

// The formats, named as on the command line and as file extensions (except Opus: .opus).
const (
	WAV  Format = "wav"
	FLAC Format = "flac"
	MP3  Format = "mp3"
	Opus Format = "opus"
	M4B  Format = "m4b"
)

// FormatInfo says what a format is and whether this machine can write it.
type FormatInfo struct {
	Format    Format
	Name      string // for menus
	Ext       string // file extension with the dot
	Lossy     bool
	Chapters  bool // the file carries a chapter list
	Available bool
	// Reason says why the format is disabled, and what would enable it. For an available format it
	// is empty, except for MP3 encoded through ffmpeg (builds without libmp3lame, such as Windows),
	// where it says so. Why is the same as a code of FormatReasons with its parameters, which the
	// window translates; Reason is its English text.
	Reason string
	Why    inference.Reason
	// DefaultBitrate (kbps) for lossy formats.
	DefaultBitrate int
}

// Formats lists every format with its availability on this machine.
func Formats() []FormatInfo { return formats(lookFFmpeg) }

// FormatReasons are the reasons a format is disabled, or how it is encoded (inference.Reason).
var FormatReasons = inference.ReasonTemplates{
	"ffmpeg-missing":     "needs ffmpeg, which was not found: install ffmpeg (or set VIETTTS_FFMPEG to its path)",
	"ffmpeg-broken":      "ffmpeg at {path} does not run ({error}): reinstall it",
	"ffmpeg-no-encoder":  "the installed ffmpeg has no {codec} encoder: install an ffmpeg build with it",
	"mp3-no-lame":        "this build has no built-in MP3 encoder (libmp3lame through cgo)",
	"mp3-ffmpeg-missing": mp3NeedsFFmpeg + ", and ffmpeg was not found: install ffmpeg with libmp3lame (on Windows, a full build such as gyan.dev's or BtbN's) and put it on PATH, or set VIETTTS_FFMPEG to its path",
	"mp3-ffmpeg-broken":  mp3NeedsFFmpeg + ": ffmpeg at {path} does not run ({error}): reinstall it",
	"mp3-ffmpeg-no-lame": mp3NeedsFFmpeg + ", which the ffmpeg at {path} lacks: install an ffmpeg build with libmp3lame (or set VIETTTS_FFMPEG to one)",
	"mp3-via-ffmpeg":     "encoded via ffmpeg with libmp3lame ({path}): this build has no built-in MP3 encoder",
}

const mp3NeedsFFmpeg = "this build has no built-in MP3 encoder, so MP3 needs ffmpeg with the libmp3lame encoder"

func formats(ffmpegPath func() (string, error)) []FormatInfo {
	ff := ffmpegCodecs(ffmpegPath)
	mp3ok, mp3why := mp3Status(mp3Auto, ff)
	return []FormatInfo{
		{Format: WAV, Name: "WAV (16-bit PCM)", Ext: ".wav", Available: true},
		{Format: FLAC, Name: "FLAC (lossless)", Ext: ".flac", Chapters: true, Available: true},
		withWhy(FormatInfo{Format: MP3, Name: "MP3 (CBR, ID3 chapters)", Ext: ".mp3", Lossy: true, Chapters: true, Available: mp3ok, DefaultBitrate: 128}, mp3why),
		withWhy(FormatInfo{Format: Opus, Name: "Opus in Ogg", Ext: ".opus", Lossy: true, Chapters: true, Available: ff.opus, DefaultBitrate: 48}, why(ff.opus, ff.problem, "libopus")),
		withWhy(FormatInfo{Format: M4B, Name: "M4B audiobook (AAC)", Ext: ".m4b", Lossy: true, Chapters: true, Available: ff.aac, DefaultBitrate: 64}, why(ff.aac, ff.problem, "aac")),
	}
}

// withWhy sets the format's reason in both forms.
func withWhy(fi FormatInfo, r inference.Reason) FormatInfo {
	fi.Why, fi.Reason = r, r.Text
	return fi
}

// why is the reason an ffmpeg format is disabled (none when ok).
func why(ok bool, ffWhy inference.Reason, codec string) inference.Reason {
	switch {
	case ok:
		return inference.Reason{}
	case ffWhy.Code != "":
		return ffWhy
	}
	return FormatReasons.New("ffmpeg-no-encoder", "codec", codec)
}

// lookFFmpeg finds ffmpeg: VIETTTS_FFMPEG, then PATH.
func lookFFmpeg() (string, error) {
	if p := os.Getenv("VIETTTS_FFMPEG"); p != "" {
		return p, nil
	}
	return exec.LookPath("ffmpeg")
}

// ffmpegCaps is what one ffmpeg can encode, or why it cannot be used.
type ffmpegCaps struct {
	path           string // empty when ffmpeg was not found
	opus, aac, mp3 bool   // libopus, aac, libmp3lame
	// problem is set when ffmpeg is missing or does not run, and says what to do.
	problem inference.Reason
}

// codecCache remembers what each ffmpeg binary can encode: asking takes tens of milliseconds.
var codecCache struct {
	sync.Mutex
	m map[string]ffmpegCaps
}

// ffmpegCodecs asks ffmpeg (once per binary) which of the encoders the exports use it has.
func ffmpegCodecs(ffmpegPath func() (string, error)) ffmpegCaps {
	path, err := ffmpegPath()
	if err != nil {
		return ffmpegCaps{problem: FormatReasons.New("ffmpeg-missing")}
	}
	codecCache.Lock()
	defer codecCache.Unlock()
	if c, ok := codecCache.m[path]; ok {
		return c
	}
	c := ffmpegCaps{path: path}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-hide_banner", "-encoders")
	hideConsole(cmd)
	out, err := cmd.Output()
	if err != nil {
		c.problem = FormatReasons.New("ffmpeg-broken", "path", path, "error", err)
		return c
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || len(f[0]) != 6 || f[0][0] != 'A' {
			continue
		}
		switch f[1] {
		case "libopus":
			c.opus = true
		case "aac":
			c.aac = true
		case "libmp3lame":
			c.mp3 = true
		}
	}
	if codecCache.m == nil {
		codecCache.m = map[string]ffmpegCaps{}
	}
	codecCache.m[path] = c
	return c
}

// Info returns the FormatInfo of f.
func Info(f Format) (FormatInfo, error) {
	for _, fi := range Formats() {
		if fi.Format == f {
			return fi, nil
		}
	}
	return FormatInfo{}, fmt.Errorf("unknown format %q: use wav, flac, mp3, opus or m4b", f)
}

// Split says how a book is divided into files.
type Split string

const (
	SplitNone     Split = "none"     // one file for the book
	SplitChapters Split = "chapters" // one file per chapter
)

// Options control an export. Zero values pick the defaults noted.
type Options struct {
	Format Format
	// Bitrate in kbps for lossy formats; 0 means the format's default. MP3: a CBR rate from 64 to
	// 320; Opus: 16-256; M4B: 32-320.
	Bitrate int
	// Rate is the output sample rate: 44100 (default), 48000, or 22050 (no resampling). Opus is
	// always 48000.
	Rate  int
	Split Split
	// Subtitles written beside each audio file.
	Subtitles Subtitles
	// Loudness target; a zero Preset leaves the level as synthesized (a 0 dBTP limiter still
	// prevents clipping).
	Loudness audio.Preset
	// Assembly settings (pauses, trimming).
	Assembly audio.Settings
	// Logger for progress; nil means slog.Default().
	Logger *slog.Logger
	// Progress, if set, is called with the fraction done (0-1) of the whole export.
	Progress func(done float64)

	// mp3 picks the MP3 encoder; the zero value takes libmp3lame where it is compiled in, else
	// ffmpeg. Tests set it to export the same book through both.
	mp3 mp3Backend
}

// File is one file an export wrote.
type File struct {
	Path    string
	Seconds float64
}

// Result reports an export.
type Result struct {
	Files []File
	// Measured is the integrated loudness of the assembled book before normalization (LUFS).
	Measured float64
	// GainDB is the gain applied to reach the target.
	GainDB float64
	// Output is the integrated loudness of what was written (LUFS, before lossy encoding).
	Output float64
	// PeakDB is the highest true peak before the limiter (dBTP, after the gain); LimitedSeconds is
	// how much audio the limiter turned down.
	PeakDB         float64
	LimitedSeconds float64
	Timeline       audio.Timeline
}

// LogValue summarizes an export for logs.
func (r Result) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("files", len(r.Files)), slog.Float64("hours", round2(r.Timeline.Seconds()/3600)),
		slog.Float64("measured_lufs", round2(r.Measured)), slog.Float64("gain_db", round2(r.GainDB)),
		slog.Float64("output_lufs", round2(r.Output)), slog.Float64("limited_s", round2(r.LimitedSeconds)))
}

// Paths lists the written files' paths.
func (r Result) Paths() []string {
	var p []string
	for _, f := range r.Files {
		p = append(p, f.Path)
	}
	return p
}

var mp3Rates = []int{64, 80, 96, 112, 128, 160, 192, 224, 256, 320}

// validate fills defaults and checks the options against the format.
func (o *Options) validate() (FormatInfo, error) {
	if o.Format == "" {
		o.Format = WAV
	}
	fi, err := Info(o.Format)
	if err != nil {
		return fi, err
	}
	if o.Format == MP3 {
		if o.mp3 != mp3Auto {
			var r inference.Reason
			fi.Available, r = mp3Status(o.mp3, ffmpegCodecs(lookFFmpeg))
			fi = withWhy(fi, r)
		}
		o.mp3 = o.mp3.resolve()
	}
	if !fi.Available {
		return fi, fmt.Errorf("%s export is disabled: %s", fi.Name, fi.Reason)
	}
	if o.Split == "" {
		o.Split = SplitNone
	}
	if o.Split != SplitNone && o.Split != SplitChapters {
		return fi, fmt.Errorf("unknown split %q: use none or chapters", o.Split)
	}
	if o.Rate == 0 {
		o.Rate = 44100
	}
	if o.Rate != 22050 && o.Rate != 44100 && o.Rate != 48000 {
		return fi, fmt.Errorf("sample rate %d Hz is not offered: use 44100, 48000 or 22050", o.Rate)
	}
	if o.Format == Opus {
		o.Rate = 48000
	}
	if fi.Lossy {
		if o.Bitrate == 0 {
			o.Bitrate = fi.DefaultBitrate
		}
		switch o.Format {
		case MP3:
			ok := false
			for _, r := range mp3Rates {
				ok = ok || r == o.Bitrate
			}
			if !ok {
				return fi, fmt.Errorf("MP3 bitrate %d kbps is not a CBR rate: use one of %v", o.Bitrate, mp3Rates)
			}
			if o.Rate < 32000 && o.Bitrate > 160 {
				// MPEG-2 layer III (the sample rates under 32 kHz) stops at 160 kbps.
				return fi, fmt.Errorf("MP3 at %d Hz allows at most 160 kbps: lower the bitrate or export at 44100 Hz", o.Rate)
			}
		case Opus:
			if o.Bitrate < 16 || o.Bitrate > 256 {
				return fi, fmt.Errorf("Opus bitrate %d kbps is out of range: use 16-256", o.Bitrate)
			}
		case M4B:
			if o.Bitrate < 32 || o.Bitrate > 320 {
				return fi, fmt.Errorf("AAC bitrate %d kbps is out of range: use 32-320", o.Bitrate)
			}
		}
	}
	return fi, nil
}

// ceilingMargin keeps the limiter this far under the preset's ceiling: lossy encoders add peaks.
func ceilingMargin(lossy bool) float64 {
	if lossy {
		return 1.0
	}
	return 0.3 // the 4× detector and the moving gain can let a peak through by up to ~0.2 dB
}

// group is one output file: a run of chapters.
type group struct {
	first, last int // chapter indices, inclusive
	path        string
	tmp         *tempFile
	enc         encoder
	rs          *dsp.Resampler
	lim         *audio.Limiter
	start       int64 // assembly sample where the file starts
	written     int64 // output samples
}

// Export writes book to out (the book's file; with SplitChapters, each chapter goes to
// "<out without extension> NN - <chapter title><ext>"). The extension of out is replaced by the
// format's. Subtitles go beside each audio file with .srt or .vtt. The book's texts are
// NFC-normalized in place. On error nothing is left under any of the target names.
func Export(ctx context.Context, book *audio.Book, out string, o Options) (Result, error) {
	var res Result
	fi, err := o.validate()
	if err != nil {
		return res, err
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	book.Normalize()
	if len(book.Chapters) == 0 || book.Segments() == 0 {
		return res, errors.New("the book has no segments to export: synthesize it first")
	}
	out = strings.TrimSuffix(out, filepath.Ext(out)) + fi.Ext
	if err := checkFolder(out); err != nil {
		return res, err
	}
	ffmpeg := ""
	if o.Format == Opus || o.Format == M4B || (o.Format == MP3 && o.mp3 == mp3FFmpeg) {
		if ffmpeg, err = lookFFmpeg(); err != nil {
			return res, fmt.Errorf("%s export needs ffmpeg: %w", fi.Name, err)
		}
	}
	progress := func(pass int, frac float64) {
		if o.Progress != nil {
			o.Progress((float64(pass) + frac) / 2)
		}
	}

	// Pass 1: measure loudness and lay out the timeline.
	began := time.Now()
	meter := audio.NewMeter(audio.Rate)
	var samplePeak float64
	tl, err := audio.Assemble(ctx, book, o.Assembly, func(_ int, p []float32) error {
		meter.Write(p)
		for _, v := range p {
			samplePeak = math.Max(samplePeak, math.Abs(float64(v)))
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("reading the book's audio: %w", err)
	}
	res.Timeline = tl
	res.Measured = meter.Integrated()
	gain := o.Loudness.Gain(res.Measured)
	ceiling := 1.0
	if o.Loudness.Enabled() {
		ceiling = math.Pow(10, (o.Loudness.CeilingDBTP-ceilingMargin(fi.Lossy))/20)
		// Peaks between samples can exceed the sample peak by a few dB; only audio that may
		// reach the ceiling needs the limiter's effect on loudness worked out.
		if samplePeak*gain*math.Pow(10, 3.0/20) > ceiling {
			if gain, err = compensateLimiting(ctx, book, o.Assembly, o.Loudness, gain, ceiling, log); err != nil {
				return res, fmt.Errorf("reading the book's audio: %w", err)
			}
		}
	}
	res.GainDB = audio.DB(gain)
	if fi.Format == WAV && o.Split == SplitNone {
		if bytes := float64(tl.Length) / audio.Rate * float64(o.Rate) * 2; bytes > math.MaxUint32-64 {
			return res, fmt.Errorf("the book is %.1f hours long: a WAV file cannot hold more than 4 GB (%.1f hours at %d Hz); export as FLAC or split per chapter",
				tl.Seconds()/3600, (math.MaxUint32-64)/2/float64(o.Rate)/3600, o.Rate)
		}
	}
	log.Info("export: measured", "format", o.Format, "seconds", math.Round(tl.Seconds()), "lufs", round2(res.Measured),
		"gain_db", round2(res.GainDB), "took", time.Since(began).Round(time.Millisecond))
	progress(0, 1)

	// Pass 2: resample, gain, limit, encode.
	groups := makeGroups(book, out, fi, o.Split)
	var files pending
	defer files.abort() // removes temporaries unless commit ran
	outMeter := audio.NewMeter(o.Rate)
	var peak float64
	var limited int64
	cur := -1
	var encs []interface{ abort() } // encoders that run ffmpeg: stopped, their side files removed
	var asyncs []*asyncEncoder
	defer func() {
		for _, a := range asyncs {
			a.abort()
		}
		for _, e := range encs {
			e.abort()
		}
	}()
	finish := func(g *group) error {
		tail := g.rs.Flush(nil)
		if err := g.lim.Write(tail); err != nil {
			return err
		}
		if err := g.lim.Close(); err != nil {
			return err
		}
		peak = math.Max(peak, g.lim.PeakIn)
		limited += g.lim.Reduced
		if err := g.enc.Close(); err != nil {
			return describeEncode(err, g.path)
		}
		res.Files = append(res.Files, File{Path: g.path, Seconds: float64(g.written) / float64(o.Rate)})
		return nil
	}
	start := func(gi int) error {
		g := &groups[gi]
		g.start = tl.Chapters[g.first].Start
		m := fileMeta{
			Title: book.Title, Album: book.Title, Author: book.Author, Narrator: book.Narrator,
			Cover: book.Cover, Rate: o.Rate, Bitrate: o.Bitrate,
		}
		if len(groups) > 1 {
			m.Title = book.Chapters[g.first].Title
			m.Track = fmt.Sprintf("%d/%d", gi+1, len(groups))
		}
		for c := g.first; c <= g.last; c++ {
			span := tl.Chapters[c]
			m.Chapters = append(m.Chapters, fileChapter{Title: book.Chapters[c].Title,
				Start: float64(span.Start-g.start) / audio.Rate, End: float64(span.End-g.start) / audio.Rate})
		}
		var err error
		switch o.Format {
		case Opus, M4B:
			if g.tmp, err = files.reserve(g.path); err != nil {
				return err
			}
			var fe *ffmpegEncoder
			fe, err = newFFmpegEncoder(ctx, ffmpeg, o.Format, g.tmp.tmp, m)
			if err == nil {
				encs = append(encs, fe)
				g.enc = fe
			}
		default:
			if g.tmp, err = files.create(g.path); err != nil {
				return err
			}
			switch o.Format {
			case WAV:
				g.enc, err = newWAVEncoder(g.tmp.f, o.Rate)
			case FLAC:
				g.enc, err = newFLACEncoder(g.tmp.f, m)
			case MP3:
				if o.mp3 == mp3FFmpeg {
					var fe *ffmpegMP3File
					if fe, err = newFFmpegMP3File(ctx, ffmpeg, g.tmp, m); err == nil {
						encs = append(encs, fe)
						g.enc = fe
					}
				} else {
					g.enc, err = newMP3File(g.tmp.f, m)
				}
			}
		}
		if err != nil {
			return describeEncode(err, g.path)
		}
		a := newAsyncEncoder(g.enc)
		asyncs = append(asyncs, a)
		g.enc = a
		if g.rs, err = dsp.NewResampler(audio.Rate, o.Rate, dsp.Options{}); err != nil {
			return err
		}
		enc := g.enc
		g.lim, err = audio.NewLimiter(o.Rate, gain, ceiling, func(p []float32) error {
			g.written += int64(len(p))
			outMeter.Write(p)
			if err := enc.Write(p); err != nil {
				return describeEncode(err, g.path)
			}
			return nil
		})
		return err
	}
	var rsOut []float32
	var pos int64
	seen := 0
	_, err = audio.Assemble(ctx, book, o.Assembly, func(ch int, p []float32) error {
		gi := groupOf(groups, ch)
		if gi != cur {
			if cur >= 0 {
				if err := finish(&groups[cur]); err != nil {
					return err
				}
			}
			cur = gi
			if err := start(gi); err != nil {
				return err
			}
		}
		g := &groups[cur]
		rsOut = g.rs.Process(rsOut[:0], p)
		pos += int64(len(p))
		if seen++; seen%256 == 0 {
			progress(1, float64(pos)/float64(max(tl.Length, 1)))
		}
		return g.lim.Write(rsOut)
	})
	if err == nil && cur >= 0 {
		err = finish(&groups[cur])
	}
	if err != nil {
		return res, err
	}
	encs = nil
	res.Output = outMeter.Integrated()
	res.PeakDB = audio.DB(peak)
	res.LimitedSeconds = float64(limited) / float64(o.Rate)

	if o.Subtitles != NoSubtitles {
		for _, g := range groups {
			if err := writeCues(&files, g, tl, o.Subtitles); err != nil {
				return res, err
			}
		}
	}
	if err := files.commit(); err != nil {
		return res, err
	}
	progress(1, 1)
	log.Info("export: done", "files", len(res.Files), "output_lufs", round2(res.Output), "peak_dbtp", round2(res.PeakDB),
		"limited_s", round2(res.LimitedSeconds), "took", time.Since(began).Round(time.Millisecond))
	return res, nil
}

// compensateLimiting finds the gain that reaches the target after the limiter has taken its share:
// the limiter turns peaks down, which lowers the integrated loudness of dense or peaky audio by up to
// a few LU. Each round assembles the book again at the synthesis rate, limits it and measures; the
// gain is corrected by what is missing. Rounds stop when the result is within 0.1 LU (usually one or
// two rounds; at most four).
func compensateLimiting(ctx context.Context, book *audio.Book, s audio.Settings, target audio.Preset, gain, ceiling float64, log *slog.Logger) (float64, error) {
	for round := range 4 {
		m := audio.NewMeter(audio.Rate)
		lim, err := audio.NewLimiter(audio.Rate, gain, ceiling, func(p []float32) error { m.Write(p); return nil })
		if err != nil {
			return gain, err
		}
		if _, err := audio.Assemble(ctx, book, s, func(_ int, p []float32) error { return lim.Write(p) }); err != nil {
			return gain, err
		}
		if err := lim.Close(); err != nil {
			return gain, err
		}
		got := m.Integrated()
		miss := target.LUFS - got
		log.Debug("export: limiter compensation", "round", round+1, "gain_db", round2(audio.DB(gain)), "lufs", round2(got))
		if math.Abs(miss) < 0.1 || math.IsInf(got, 0) {
			break
		}
		gain *= math.Pow(10, miss/20)
	}
	return gain, nil
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// describeEncode adds the file and advice to an encoding error, keeping disk errors recognisable.
func describeEncode(err error, path string) error {
	if errors.Is(err, ErrDiskFull) || errors.Is(err, ErrNotWritable) {
		return err
	}
	var pe *os.PathError
	if errors.As(err, &pe) || isErrno(err) {
		return describe(err, path)
	}
	return fmt.Errorf("encoding %s: %w", path, err)
}

// makeGroups decides the output files.
func makeGroups(book *audio.Book, out string, fi FormatInfo, split Split) []group {
	if split == SplitNone {
		return []group{{first: 0, last: len(book.Chapters) - 1, path: out}}
	}
	base := strings.TrimSuffix(out, fi.Ext)
	var gs []group
	for i, c := range book.Chapters {
		title := safeName(c.Title)
		name := fmt.Sprintf("%s %02d%s", base, i+1, fi.Ext)
		if title != "" {
			name = fmt.Sprintf("%s %02d - %s%s", base, i+1, title, fi.Ext)
		}
		gs = append(gs, group{first: i, last: i, path: name})
	}
	return gs
}

func groupOf(gs []group, chapter int) int {
	for i, g := range gs {
		if chapter >= g.first && chapter <= g.last {
			return i
		}
	}
	return len(gs) - 1
}

// safeName keeps a chapter title usable as part of a file name on Linux, macOS and Windows.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r < 32, strings.ContainsRune(`<>:"/\|?*`, r):
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimRight(s, ". ")
	if r := []rune(s); len(r) > 60 {
		s = strings.TrimSpace(string(r[:60]))
	}
	return s
}

// writeCues writes the subtitles of one output file.
func writeCues(files *pending, g group, tl audio.Timeline, format Subtitles) error {
	var cues []cue
	for _, s := range tl.Segments {
		if s.Chapter < g.first || s.Chapter > g.last {
			continue
		}
		cues = append(cues, cue{Start: float64(s.Start-g.start) / audio.Rate, End: float64(s.End-g.start) / audio.Rate, Text: s.Text})
	}
	path := strings.TrimSuffix(g.path, filepath.Ext(g.path)) + "." + string(format)
	t, err := files.create(path)
	if err != nil {
		return err
	}
	if err := writeSubtitles(t.f, format, cues); err != nil {
		return describe(err, path)
	}
	return nil
}
