package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/backend/audio"
)

// needFFmpegMP3 skips unless the ffmpeg on PATH (or VIETTTS_FFMPEG) has libmp3lame.
func needFFmpegMP3(t testing.TB) {
	t.Helper()
	need(t, "sox", "ffmpeg", "ffprobe")
	if ff := ffmpegCodecs(lookFFmpeg); !ff.mp3 {
		t.Skipf("ffmpeg has no libmp3lame encoder here (%s): tools/setup.sh test installs Debian's, which has", ff.problem)
	}
}

// fakeFFmpeg writes a shell script that answers -encoders with the given encoder lines and
// otherwise runs body (the last argument, the output file, is in $last).
func fakeFFmpeg(t *testing.T, encoders, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake ffmpeg is a shell script")
	}
	path := filepath.Join(t.TempDir(), "ffmpeg")
	script := "#!/bin/sh\nfor a in \"$@\"; do last=\"$a\"; done\n" +
		"case \" $* \" in *\" -encoders \"*) printf '%s' '" + encoders + "'; exit 0;; esac\n" + body + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

const fakeMP3Encoder = " A....D libmp3lame           libmp3lame MP3 (MPEG audio layer 3) (codec mp3)\n"

// coverOf extracts the attached picture of an audio file, byte for byte, with ffmpeg.
func coverOf(t *testing.T, path string) []byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0:v", "-c", "copy", "-f", "image2pipe", "-").Output()
	if err != nil {
		t.Fatalf("extracting the cover of %s: %v", path, err)
	}
	return out
}

// mpegLayout checks what follows the ID3v2 tag: an MPEG audio frame (so no second tag) that is an
// Info (or Xing) frame, and no ID3v1 tag at the end.
func mpegLayout(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("ID3\x04")) {
		t.Fatalf("%s does not start with an ID3v2.4 tag", path)
	}
	n := 10 + (int(b[6])<<21 | int(b[7])<<14 | int(b[8])<<7 | int(b[9]))
	frame := b[n:min(len(b), n+200)]
	if len(frame) < 4 || frame[0] != 0xFF || frame[1]&0xE0 != 0xE0 {
		t.Fatalf("%s: no MPEG frame right after the tag (% x)", path, frame[:min(len(frame), 4)])
	}
	if !bytes.Contains(frame, []byte("Info")) && !bytes.Contains(frame, []byte("Xing")) {
		t.Errorf("%s: the first frame is not an Info frame, so players cannot drop the encoder delay", path)
	}
	if len(b) > 128 && bytes.HasPrefix(b[len(b)-128:], []byte("TAG")) {
		t.Errorf("%s ends with an ID3v1 tag", path)
	}
}

// The same book through libmp3lame compiled in and through ffmpeg's libmp3lame must read the
// same to an outside tool: duration, chapters, tags, cover, and the decoded audio itself.
func TestMP3ThroughFFmpegReadsTheSameAsThroughLAME(t *testing.T) {
	if !lameBuilt {
		t.Skip("this build has no libmp3lame to compare with (nolame): the other MP3 tests run through ffmpeg here")
	}
	needFFmpegMP3(t)
	book := testBook(t, 3, 2, 1.0)
	book.Cover = pngCover()
	for _, c := range []struct {
		rate, kbps int
		split      Split
	}{{44100, 128, SplitNone}, {22050, 64, SplitChapters}} {
		t.Run(fmt.Sprintf("%d Hz %d kbps split %s", c.rate, c.kbps, c.split), func(t *testing.T) {
			export := func(b mp3Backend) Result {
				t.Helper()
				res, err := Export(t.Context(), book, filepath.Join(t.TempDir(), "Truyện"),
					Options{Format: MP3, Rate: c.rate, Bitrate: c.kbps, Split: c.split, Loudness: audio.PresetACX, mp3: b})
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			lame, ff := export(mp3LAME), export(mp3FFmpeg)
			if len(lame.Files) != len(ff.Files) {
				t.Fatalf("%d files through LAME, %d through ffmpeg", len(lame.Files), len(ff.Files))
			}
			// ffprobe's duration is the Info frame's frame count × 1152 samples: it includes the
			// encoder delay at the start (576 + 529 samples for libmp3lame) and the padding that
			// fills the last frame. The two encoders pad the end independently, so they may differ
			// by one frame, and a different delay would show too: one frame plus the delay.
			tol := float64(1152+1105) / float64(c.rate)
			for i := range lame.Files {
				lf, ffile := lame.Files[i].Path, ff.Files[i].Path
				if filepath.Base(lf) != filepath.Base(ffile) {
					t.Errorf("file %d named %q through LAME, %q through ffmpeg", i+1, filepath.Base(lf), filepath.Base(ffile))
				}
				mpegLayout(t, lf)
				mpegLayout(t, ffile)
				pl, pf := ffprobe(t, lf), ffprobe(t, ffile)
				dl, df := num(t, pl.Format.Duration), num(t, pf.Format.Duration)
				if math.Abs(dl-df) > tol {
					t.Errorf("%s: ffprobe says %.4f s through LAME, %.4f s through ffmpeg (tolerance %.4f s)", ffile, dl, df, tol)
				}
				// The Info frame's delay and padding let a decoder drop them: the decoded audio
				// is the file's exact length whichever encoder wrote it, and the same audio.
				want := lame.Files[i].Seconds
				al, af := decode(t, lf), decode(t, ffile)
				if sl, sf := float64(len(al))/float64(c.rate), float64(len(af))/float64(c.rate); math.Abs(sl-want) > 0.001 || math.Abs(sf-want) > 0.001 {
					t.Errorf("%s: decoded %.4f s through LAME, %.4f s through ffmpeg, want %.4f s", ffile, sl, sf, want)
				}
				var sig, diff float64
				for j := range min(len(al), len(af)) {
					sig += float64(al[j]) * float64(al[j])
					d := float64(al[j] - af[j])
					diff += d * d
				}
				if snr := 10 * math.Log10(sig/max(diff, 1e-30)); snr < 30 {
					t.Errorf("%s: the decoded audio of the two files differs (%.1f dB signal to difference): they are not aligned", ffile, snr)
				}
				for _, key := range []string{"title", "album", "artist", "composer", "genre", "NARRATOR", "track"} {
					vl, vf := tag(pl.Format.Tags, key), tag(pf.Format.Tags, key)
					if vl != vf {
						t.Errorf("%s: tag %s is %q through LAME, %q through ffmpeg", ffile, key, vl, vf)
					}
					if vl == "" && (key != "track" || c.split == SplitChapters) {
						t.Errorf("%s: tag %s is missing", ffile, key)
					}
				}
				if len(pl.Chapters) == 0 || len(pl.Chapters) != len(pf.Chapters) {
					t.Fatalf("%s: %d chapters through LAME, %d through ffmpeg", ffile, len(pl.Chapters), len(pf.Chapters))
				}
				for j := range pl.Chapters {
					cl, cf := pl.Chapters[j], pf.Chapters[j]
					if tl, tf := tag(cl.Tags, "title"), tag(cf.Tags, "title"); tl != tf || tl == "" {
						t.Errorf("%s: chapter %d titled %q through LAME, %q through ffmpeg", ffile, j+1, tl, tf)
					}
					if sl, sf := num(t, cl.StartTime), num(t, cf.StartTime); math.Abs(sl-sf) > 0.030 {
						t.Errorf("%s: chapter %d starts at %.3f s through LAME, %.3f s through ffmpeg", ffile, j+1, sl, sf)
					}
				}
				if cl, cf := coverOf(t, lf), coverOf(t, ffile); !bytes.Equal(cl, pngCover()) || !bytes.Equal(cf, pngCover()) {
					t.Errorf("%s: the cover is not the book's (%d bytes through LAME, %d through ffmpeg, want %d)", ffile, len(cl), len(cf), len(pngCover()))
				}
			}
		})
	}
}

func TestMP3AvailabilitySaysWhichEncoderAndWhatToInstall(t *testing.T) {
	notFound := func() (string, error) { return "", exec.ErrNotFound }
	ok, why := mp3Status(mp3FFmpeg, ffmpegCodecs(notFound))
	if ok || why.Code != "mp3-ffmpeg-missing" || !strings.Contains(why.Text, "ffmpeg was not found") || !strings.Contains(why.Text, "libmp3lame") {
		t.Errorf("without ffmpeg: available=%v, reason %q; want disabled, saying to install ffmpeg with libmp3lame", ok, why)
	}
	mp3Info := func(fs []FormatInfo) FormatInfo {
		for _, f := range fs {
			if f.Format == MP3 {
				return f
			}
		}
		t.Fatal("Formats lists no MP3")
		return FormatInfo{}
	}
	if fi := mp3Info(formats(notFound)); fi.Available != lameBuilt {
		t.Errorf("without ffmpeg, LAME compiled in=%v: MP3 available=%v (%s)", lameBuilt, fi.Available, fi.Reason)
	} else if !lameBuilt && !strings.Contains(fi.Reason, "libmp3lame") {
		t.Errorf("without ffmpeg or LAME: reason %q does not say what to install", fi.Reason)
	}

	noLame := fakeFFmpeg(t, " A....D aac                  AAC (Advanced Audio Coding)\n", "exit 1")
	ok, why = mp3Status(mp3FFmpeg, ffmpegCodecs(func() (string, error) { return noLame, nil }))
	if ok || why.Code != "mp3-ffmpeg-no-lame" || why.Params["path"] != noLame || !strings.Contains(why.Text, noLame) ||
		!strings.Contains(why.Text, "install an ffmpeg build with libmp3lame") {
		t.Errorf("ffmpeg without libmp3lame: available=%v, reason %q", ok, why)
	}

	withLame := fakeFFmpeg(t, fakeMP3Encoder, "exit 1")
	look := func() (string, error) { return withLame, nil }
	ok, why = mp3Status(mp3FFmpeg, ffmpegCodecs(look))
	if !ok || why.Code != "mp3-via-ffmpeg" || !strings.Contains(why.Text, "via ffmpeg") {
		t.Errorf("ffmpeg with libmp3lame: available=%v, note %q; want available, saying it goes through ffmpeg", ok, why)
	}
	fi := mp3Info(formats(look))
	if !fi.Available || (lameBuilt && fi.Reason != "") || (!lameBuilt && !strings.Contains(fi.Reason, "via ffmpeg")) {
		t.Errorf("LAME compiled in=%v, ffmpeg with libmp3lame: available=%v, reason %q", lameBuilt, fi.Available, fi.Reason)
	}

	for _, c := range []struct{ env, path, want string }{
		{filepath.Join(t.TempDir(), "no-such-ffmpeg"), os.Getenv("PATH"), "does not run"},
		{"", t.TempDir(), "ffmpeg was not found"},
	} {
		t.Setenv("VIETTTS_FFMPEG", c.env)
		t.Setenv("PATH", c.path)
		dir := t.TempDir()
		_, err := Export(t.Context(), testBookSilent(1), filepath.Join(dir, "book"), Options{Format: MP3, mp3: mp3FFmpeg})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "libmp3lame") {
			t.Errorf("export with VIETTTS_FFMPEG=%q PATH=%q: %v; want an error saying %q and what to install", c.env, c.path, err, c.want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("a refused export left %d files", len(entries))
		}
	}
}

func TestMP3ThroughFFmpegFailingLeavesNothing(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		// ffmpeg writes part of the file, reads 64 KB of the audio and dies: the export sees a
		// broken pipe while it is still writing.
		{"mid-way", "printf 'partial' > \"$last\"\nhead -c 65536 >/dev/null\necho 'Error while encoding: simulated crash' >&2\nexit 1", "simulated crash"},
		// ffmpeg takes everything and fails while finishing the file.
		{"at the end", "cat >/dev/null\nprintf 'partial' > \"$last\"\necho 'Error writing trailer: simulated' >&2\nexit 1", "simulated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("VIETTTS_FFMPEG", fakeFFmpeg(t, fakeMP3Encoder, c.body))
			dir := t.TempDir()
			_, err := Export(t.Context(), testBookNoise(3), filepath.Join(dir, "book"), Options{Format: MP3, Subtitles: SRT, mp3: mp3FFmpeg})
			if err == nil {
				t.Fatal("the export succeeded although ffmpeg failed")
			}
			t.Logf("the error reads: %v", err)
			if msg := err.Error(); !strings.Contains(msg, c.want) || !strings.Contains(msg, "ffmpeg -encoders") || !strings.Contains(msg, "book.mp3") {
				t.Errorf("error %q does not say what ffmpeg said, which file, and what to check", msg)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("%d files left after ffmpeg failed, first %s", len(entries), entries[0].Name())
			}
		})
	}
	t.Run("canceled", func(t *testing.T) {
		needFFmpegMP3(t)
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(t.Context())
		book := testBookNoise(3)
		calls := 0
		noise := book.Chapters[0].Segments[2].Audio
		book.Chapters[0].Segments[2].Audio = audio.SourceFunc(func(ctx context.Context) ([]float32, error) {
			if calls++; calls == 2 { // second pass: ffmpeg is running
				cancel()
				return nil, ctx.Err()
			}
			return noise.PCM(ctx)
		})
		_, err := Export(ctx, book, filepath.Join(dir, "book"), Options{Format: MP3, mp3: mp3FFmpeg})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%d files left after cancel, first %s", len(entries), entries[0].Name())
		}
	})
}
