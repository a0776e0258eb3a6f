package export

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/backend/audio"
	"github.com/viettts-studio/studio/backend/internal/testfs"
)

func need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (tools/setup.sh test installs it)", tool)
		}
	}
}

// soxSegment synthesizes a speech-like segment with sox: band-limited pink noise with a syllable
// rhythm, seconds long, at level dB, as mono float32 at 22050 Hz.
func soxSegment(t testing.TB, seconds, levelDB float64, seed int) []float32 {
	t.Helper()
	cmd := exec.Command("sox", "-R", "-n", "-t", "f32", "-r", "22050", "-c", "1", "-",
		"synth", fmt.Sprint(seconds), "pinknoise", "band", fmt.Sprint(300+seed*50), "2500",
		"tremolo", fmt.Sprint(3.5+float64(seed%4)*0.5), "85", "gain", "-n", fmt.Sprint(levelDB))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sox: %v", err)
	}
	pcm := make([]float32, len(out)/4)
	for i := range pcm {
		pcm[i] = math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:]))
	}
	return pcm
}

// testBook makes a book of chapters × segments of sox audio; every segment is its own signal.
func testBook(t testing.TB, chapters, segments int, seconds float64) *audio.Book {
	t.Helper()
	b := &audio.Book{Title: "Truyện Kiều", Author: "Nguyễn Du", Narrator: "Giọng Hà Nội"}
	for c := range chapters {
		ch := audio.Chapter{Title: fmt.Sprintf("Chương %d: Mở đầu", c+1)}
		for s := range segments {
			pcm := soxSegment(t, seconds+0.1*float64(s), -8-float64(s%3)*2, c*7+s)
			ch.Segments = append(ch.Segments, audio.Segment{
				ID:    fmt.Sprintf("c%d-s%d", c, s),
				Text:  fmt.Sprintf("Câu %d của chương %d.", s+1, c+1),
				Break: audio.Break(s % 3),
				Audio: audio.SourceFunc(func(context.Context) ([]float32, error) { return pcm, nil }),
			})
		}
		b.Chapters = append(b.Chapters, ch)
	}
	return b
}

type probe struct {
	Streams []struct {
		CodecName  string            `json:"codec_name"`
		CodecType  string            `json:"codec_type"`
		SampleRate string            `json:"sample_rate"`
		Channels   int               `json:"channels"`
		BitRate    string            `json:"bit_rate"`
		Tags       map[string]string `json:"tags"`
	} `json:"streams"`
	Chapters []struct {
		StartTime string            `json:"start_time"`
		EndTime   string            `json:"end_time"`
		Tags      map[string]string `json:"tags"`
	} `json:"chapters"`
	Format struct {
		Duration string            `json:"duration"`
		Tags     map[string]string `json:"tags"`
	} `json:"format"`
}

func ffprobe(t testing.TB, path string) probe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-print_format", "json", "-show_streams",
		"-show_chapters", "-show_format", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v", err)
	}
	return p
}

func tag(tags map[string]string, key string) string {
	for k, v := range tags {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

func num(t testing.TB, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return v
}

// ebur128 measures integrated loudness and true peak with ffmpeg.
func ebur128(t testing.TB, path string) (lufs, peak float64) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostats", "-i", path, "-af", "ebur128=peak=true",
		"-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg ebur128: %v\n%s", err, out)
	}
	s := string(out)
	i := strings.LastIndex(s, "Summary:")
	if i < 0 {
		t.Fatalf("no ebur128 summary in:\n%s", s)
	}
	s = s[i:]
	m := regexp.MustCompile(`I:\s+(-?[\d.]+) LUFS`).FindStringSubmatch(s)
	p := regexp.MustCompile(`Peak:\s+(-?[\d.]+|-inf) dBFS`).FindStringSubmatch(s)
	if m == nil || p == nil {
		t.Fatalf("cannot read the ebur128 summary:\n%s", s)
	}
	return num(t, m[1]), num(t, p[1])
}

func TestExportWritesEveryFormatWithChaptersAndTags(t *testing.T) {
	need(t, "sox", "ffprobe")
	book := testBook(t, 3, 2, 1.0)
	for _, fi := range Formats() {
		t.Run(string(fi.Format), func(t *testing.T) {
			if !fi.Available {
				t.Skipf("%s disabled here: %s", fi.Format, fi.Reason)
			}
			dir := t.TempDir()
			cover := pngCover()
			b := *book
			b.Cover = cover
			res, err := Export(t.Context(), &b, filepath.Join(dir, "book"), Options{Format: fi.Format, Loudness: audio.PresetACX})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Files) != 1 {
				t.Fatalf("wrote %d files, want 1", len(res.Files))
			}
			p := ffprobe(t, res.Files[0].Path)
			want := res.Timeline.Seconds()
			got := num(t, p.Format.Duration)
			tol := 0.02
			if fi.Format == Opus || fi.Format == M4B {
				tol = 0.12 // ffprobe's estimate of AAC and Opus lengths includes encoder priming
			}
			if fi.Format == MP3 {
				tol = 0.06 // ffprobe counts lame's delay and padding (about 50 ms) in the duration
				// ... which a decoder drops, as the LAME tag says: the decoded audio is exact.
				if n := len(decode(t, res.Files[0].Path)); math.Abs(float64(n)/44100-want) > 0.001 {
					t.Errorf("decoded MP3 is %.4f s, timeline %.4f s", float64(n)/44100, want)
				}
			}
			if math.Abs(got-want) > tol {
				t.Errorf("ffprobe duration %.3f s, timeline %.3f s", got, want)
			}
			var rate string
			for _, s := range p.Streams {
				if s.CodecType == "audio" {
					rate = s.SampleRate
					if s.Channels != 1 {
						t.Errorf("%d channels, want mono", s.Channels)
					}
				}
			}
			wantRate := "44100"
			if fi.Format == Opus {
				wantRate = "48000"
			}
			if rate != wantRate {
				t.Errorf("sample rate %s, want %s", rate, wantRate)
			}
			if fi.Format != WAV {
				cover := false
				for _, s := range p.Streams {
					cover = cover || (s.CodecType == "video" && s.CodecName == "png")
				}
				if !cover {
					t.Errorf("no cover picture among the streams %+v", p.Streams)
				}
			}
			if !fi.Chapters {
				return
			}
			if len(p.Chapters) != 3 {
				t.Fatalf("ffprobe lists %d chapters, want 3: %+v", len(p.Chapters), p.Chapters)
			}
			for i, c := range p.Chapters {
				if got, want := tag(c.Tags, "title"), book.Chapters[i].Title; got != want {
					t.Errorf("chapter %d title %q, want %q", i+1, got, want)
				}
				if st, want := num(t, c.StartTime), float64(res.Timeline.Chapters[i].Start)/audio.Rate; math.Abs(st-want) > 0.002 {
					t.Errorf("chapter %d starts at %.3f s, want %.3f s", i+1, st, want)
				}
			}
			tags := p.Format.Tags
			if fi.Format == Opus { // Ogg keeps tags on the stream
				tags = p.Streams[0].Tags
			}
			if got := tag(tags, "title"); got != "Truyện Kiều" {
				t.Errorf("title tag %q", got)
			}
			if got := tag(tags, "artist"); got != "Nguyễn Du" {
				t.Errorf("artist tag %q", got)
			}
		})
	}
}

func TestLoudnessReachesTargetUnderCeiling(t *testing.T) {
	need(t, "sox", "ffmpeg")
	book := testBook(t, 2, 3, 1.5)
	cases := []struct {
		preset audio.Preset
		format Format
	}{
		{audio.PresetACX, FLAC}, {audio.PresetPodcast, FLAC}, {audio.PresetEBU, WAV},
		{audio.PresetACX, MP3}, {audio.PresetPodcast, M4B}, {audio.PresetEBU, Opus},
	}
	// ACX asks for MP3 at 192 kbps or more; at 128 kbps lame loses about 0.5 LU of this noisy
	// test signal (docs/AUDIO.md).
	bitrate := map[Format]int{MP3: 192}
	for _, c := range cases {
		t.Run(c.preset.Name+" "+string(c.format), func(t *testing.T) {
			if fi, _ := Info(c.format); !fi.Available {
				t.Skipf("%s disabled: %s", c.format, fi.Reason)
			}
			res, err := Export(t.Context(), book, filepath.Join(t.TempDir(), "book"), Options{Format: c.format, Loudness: c.preset, Bitrate: bitrate[c.format]})
			if err != nil {
				t.Fatal(err)
			}
			lufs, peak := ebur128(t, res.Files[0].Path)
			t.Logf("measured %.1f LUFS before, gain %+.1f dB; ffmpeg: %.1f LUFS, true peak %.1f dBTP (limiter input peak %.1f dBTP)",
				res.Measured, res.GainDB, lufs, peak, res.PeakDB)
			if math.Abs(lufs-c.preset.LUFS) > 0.5 {
				t.Errorf("integrated loudness %.2f LUFS, target %.0f ± 0.5", lufs, c.preset.LUFS)
			}
			if peak > c.preset.CeilingDBTP {
				t.Errorf("true peak %.2f dBTP over the ceiling %.0f dBTP", peak, c.preset.CeilingDBTP)
			}
		})
	}
}

// decode reads an exported file through ffmpeg (an outside decoder) as float32 mono.
func decode(t testing.TB, path string) []float32 {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "f32le", "-ac", "1", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg decode %s: %v", path, err)
	}
	pcm := make([]float32, len(out)/4)
	for i := range pcm {
		pcm[i] = math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:]))
	}
	return pcm
}

// parseCues reads the start and end times (seconds) and texts of an SRT or WebVTT file.
func parseCues(t testing.TB, path string) (starts, ends []float64, texts []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(\d\d):(\d\d):(\d\d)[,.](\d\d\d) --> (\d\d):(\d\d):(\d\d)[,.](\d\d\d)\n(.*)\n`)
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		sec := func(h, mi, s, ms string) float64 {
			return num(t, h)*3600 + num(t, mi)*60 + num(t, s) + num(t, ms)/1000
		}
		starts = append(starts, sec(m[1], m[2], m[3], m[4]))
		ends = append(ends, sec(m[5], m[6], m[7], m[8]))
		texts = append(texts, m[9])
	}
	return starts, ends, texts
}

func TestSubtitleCuesMatchWhereTheSentencesSound(t *testing.T) {
	need(t, "sox", "ffmpeg")
	book := testBook(t, 2, 3, 1.0)
	for _, c := range []struct {
		format Format
		sub    Subtitles
	}{{WAV, SRT}, {FLAC, WebVTT}, {MP3, SRT}} {
		sub := c.sub
		t.Run(string(c.format)+" "+string(sub), func(t *testing.T) {
			if fi, _ := Info(c.format); !fi.Available {
				t.Skipf("%s disabled: %s", c.format, fi.Reason)
			}
			dir := t.TempDir()
			// MP3 is decoded by ffmpeg, which trims lame's delay and padding as the LAME tag says.
			res, err := Export(t.Context(), book, filepath.Join(dir, "book"), Options{Format: c.format, Subtitles: sub, Bitrate: 192})
			if err != nil {
				t.Fatal(err)
			}
			starts, ends, texts := parseCues(t, filepath.Join(dir, "book."+string(sub)))
			if len(starts) != book.Segments() {
				t.Fatalf("%d cues, want %d", len(starts), book.Segments())
			}
			// Find where sound starts and stops in the decoded file: 5 ms windows above -50 dBFS.
			pcm := decode(t, res.Files[0].Path)
			rate := 44100.0
			win := int(rate / 200)
			loud := make([]bool, len(pcm)/win)
			for i := range loud {
				var e float64
				for _, v := range pcm[i*win : (i+1)*win] {
					e += float64(v) * float64(v)
				}
				loud[i] = e/float64(win) > 1e-5
			}
			var on, off []float64
			for i := range loud {
				if loud[i] && (i == 0 || !loud[i-1]) {
					on = append(on, float64(i*win)/rate)
				}
				if !loud[i] && i > 0 && loud[i-1] {
					off = append(off, float64(i*win)/rate)
				}
			}
			if len(on) != len(starts) || len(off) != len(ends) {
				t.Fatalf("found %d sound onsets and %d ends in the file, %d cues", len(on), len(off), len(starts))
			}
			for i := range starts {
				if math.Abs(on[i]-starts[i]) > 0.010 || math.Abs(off[i]-ends[i]) > 0.010 {
					t.Errorf("cue %d %q: %.3f-%.3f s, sound at %.3f-%.3f s", i+1, texts[i], starts[i], ends[i], on[i], off[i])
				}
			}
			if texts[0] != "Câu 1 của chương 1." {
				t.Errorf("first cue text %q", texts[0])
			}
		})
	}
}

func TestSplitPerChapterWritesOneFileEach(t *testing.T) {
	need(t, "sox", "ffprobe")
	book := testBook(t, 3, 1, 0.8)
	book.Chapters[1].Title = `Chương 2: "Hồi/Kết"?`
	dir := t.TempDir()
	res, err := Export(t.Context(), book, filepath.Join(dir, "Truyện"), Options{Format: FLAC, Split: SplitChapters, Subtitles: SRT})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 3 {
		t.Fatalf("%d files, want 3", len(res.Files))
	}
	if got, want := filepath.Base(res.Files[1].Path), "Truyện 02 - Chương 2 Hồi Kết.flac"; got != want {
		t.Errorf("second file %q, want %q", got, want)
	}
	for i, f := range res.Files {
		p := ffprobe(t, f.Path)
		span := res.Timeline.Chapters[i]
		if d, want := num(t, p.Format.Duration), float64(span.End-span.Start)/audio.Rate; math.Abs(d-want) > 0.02 {
			t.Errorf("%s: %.3f s, want %.3f s", f.Path, d, want)
		}
		if _, err := os.Stat(strings.TrimSuffix(f.Path, ".flac") + ".srt"); err != nil {
			t.Errorf("no subtitles beside %s: %v", f.Path, err)
		}
		if got := tag(p.Format.Tags, "track"); got != fmt.Sprintf("%d/3", i+1) {
			t.Errorf("%s: track %q", f.Path, got)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 6 {
		t.Errorf("folder holds %d entries, want 3 audio + 3 subtitles", len(entries))
	}
}

func TestFormatsSayWhyTheyAreDisabled(t *testing.T) {
	fs := formats(func() (string, error) { return "", exec.ErrNotFound })
	for _, f := range fs {
		switch f.Format {
		case Opus, M4B:
			if f.Available || !strings.Contains(f.Reason, "ffmpeg") {
				t.Errorf("%s without ffmpeg: available=%v reason %q", f.Format, f.Available, f.Reason)
			}
		case WAV, FLAC:
			if !f.Available {
				t.Errorf("%s is pure Go and must always be available", f.Format)
			}
		}
	}
}

func TestBadOptionsAreRefusedBeforeAnyWork(t *testing.T) {
	book := testBookSilent(1)
	dir := t.TempDir()
	for _, o := range []Options{
		{Format: "ogg"}, {Format: MP3, Bitrate: 100}, {Format: WAV, Rate: 8000}, {Format: WAV, Split: "pages"},
		{Format: MP3, Rate: 22050, Bitrate: 192}, {Format: Opus, Bitrate: 8}, {Format: M4B, Bitrate: 400},
	} {
		if _, err := Export(t.Context(), book, filepath.Join(dir, "x"), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused exports left %d files", len(entries))
	}
}

func testBookSilent(segments int) *audio.Book {
	b := &audio.Book{Title: "t", Chapters: []audio.Chapter{{Title: "c"}}}
	for range segments {
		b.Chapters[0].Segments = append(b.Chapters[0].Segments, audio.Segment{Text: "x",
			Audio: audio.SourceFunc(func(context.Context) ([]float32, error) { return make([]float32, audio.Rate), nil })})
	}
	return b
}

func testBookNoise(segments int) *audio.Book {
	b := &audio.Book{Title: "t", Chapters: []audio.Chapter{{Title: "c"}}}
	rng := rand.New(rand.NewPCG(1, 2))
	for range segments {
		pcm := make([]float32, audio.Rate)
		for i := range pcm {
			pcm[i] = float32(rng.NormFloat64() * 0.1)
		}
		b.Chapters[0].Segments = append(b.Chapters[0].Segments, audio.Segment{Text: "x",
			Audio: audio.SourceFunc(func(context.Context) ([]float32, error) { return pcm, nil })})
	}
	return b
}

func TestFullDiskGivesClearErrorAndLeavesNothing(t *testing.T) {
	dir := testfs.Tmpfs(t, "1m")
	book := testBookNoise(40) // 40 s: 3.5 MB of WAV at 44.1 kHz, 1.6 MB of MP3 or AAC at 320 kbps
	ffmpegMP3 := ffmpegCodecs(lookFFmpeg).mp3
	for _, c := range []struct {
		f       Format
		kbps    int
		mp3     mp3Backend
		skip    bool
		comment string
	}{
		{f: WAV}, {f: FLAC}, {f: MP3, kbps: 320}, {f: M4B, kbps: 320},
		{f: MP3, kbps: 320, mp3: mp3FFmpeg, skip: !ffmpegMP3, comment: "ffmpeg fills the disk"},
		// 640 KB of MP3 fits once: ffmpeg finishes, and appending it after the tag fills the disk.
		{f: MP3, kbps: 128, mp3: mp3FFmpeg, skip: !ffmpegMP3, comment: "the copy after the tag fills the disk"},
	} {
		if fi, _ := Info(c.f); !fi.Available || c.skip {
			continue
		}
		_, err := Export(t.Context(), book, filepath.Join(dir, "book"), Options{Format: c.f, Bitrate: c.kbps, Subtitles: SRT, mp3: c.mp3})
		if !errors.Is(err, ErrDiskFull) {
			t.Errorf("%s %s: error %v, want ErrDiskFull", c.f, c.comment, err)
		} else {
			t.Logf("%s %s: %v", c.f, c.comment, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s %s: %d files left on the full disk: %v", c.f, c.comment, len(entries), entries[0].Name())
		}
	}
}

func TestUnwritableFolderGivesClearError(t *testing.T) {
	ro := testfs.ReadOnly(t)
	_, err := Export(t.Context(), testBookSilent(1), filepath.Join(ro, "book"), Options{Format: WAV})
	if !errors.Is(err, ErrNotWritable) {
		t.Fatalf("error %v, want ErrNotWritable", err)
	}
	_, err = Export(t.Context(), testBookSilent(1), filepath.Join(t.TempDir(), "missing", "book"), Options{Format: WAV})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing folder: %v", err)
	}
}

func TestCanceledExportLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	book := testBookSilent(3)
	calls := 0
	book.Chapters[0].Segments[2].Audio = audio.SourceFunc(func(ctx context.Context) ([]float32, error) {
		if calls++; calls == 2 { // second pass: cancel mid-file
			cancel()
			return nil, ctx.Err()
		}
		return make([]float32, audio.Rate), nil
	})
	_, err := Export(ctx, book, filepath.Join(dir, "book"), Options{Format: FLAC})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("%d files left after cancel", len(entries))
	}
}

func TestID3TagHasChaptersInOrder(t *testing.T) {
	tag := id3Tag{Title: "T", Chapters: []id3Chapter{{Title: "Một", StartMS: 0, EndMS: 1000}, {Title: "Hai", StartMS: 1000, EndMS: 2500}}}
	b, err := tag.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("ID3\x04")) || bytes.Count(b, []byte("CHAP")) != 2 || bytes.Count(b, []byte("CTOC")) != 1 {
		t.Fatalf("unexpected tag layout: %q", b)
	}
	many := id3Tag{}
	for i := range 300 {
		many.Chapters = append(many.Chapters, id3Chapter{Title: fmt.Sprint(i), StartMS: uint32(i * 1000), EndMS: uint32(i*1000 + 1000)})
	}
	b, err = many.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("CTOC")); n != 3 {
		t.Fatalf("300 chapters: %d CTOC frames, want a top table and 2 sub-tables", n)
	}
}

// pngCover is a tiny valid PNG (1×1 pixel).
func pngCover() []byte {
	return []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
		"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")
}
