package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/viettts-studio/studio/backend/audio"
	"github.com/viettts-studio/studio/backend/audio/export"
)

// exportFlags are the export options of `convert`: format, bitrate, split, subtitles, loudness and
// the book's tags.
type exportFlags struct {
	format    string
	bitrate   int
	rate      int
	split     string
	subtitles string
	loudness  string
	title     string
	author    string
	narrator  string
	cover     string
	trim      bool
}

// registerExportFlags adds the export flags to fs.
func registerExportFlags(fs *flag.FlagSet) *exportFlags {
	f := &exportFlags{}
	fs.StringVar(&f.format, "format", "mp3", "output format: mp3|m4b|opus|flac|wav")
	fs.IntVar(&f.bitrate, "bitrate", 0, "bitrate in kbps for mp3 (64-320 CBR), opus and m4b; 0 = the format's default")
	fs.IntVar(&f.rate, "rate", 44100, "output sample rate: 44100|48000|22050 (opus is always 48000)")
	fs.StringVar(&f.split, "split", "none", "one file per book (none) or per chapter (chapters)")
	fs.StringVar(&f.subtitles, "subtitles", "", "write subtitles beside the audio: srt|vtt")
	fs.StringVar(&f.loudness, "loudness", "acx", "loudness target: acx (-20 LUFS, -3 dBTP)|podcast (-16 LUFS, -1 dBTP)|ebu (-23 LUFS, -1 dBTP)|off")
	fs.StringVar(&f.title, "title", "", "book title tag (default: the document's title)")
	fs.StringVar(&f.author, "author", "", "author tag")
	fs.StringVar(&f.narrator, "narrator", "", "narrator tag")
	fs.StringVar(&f.cover, "cover", "", "cover image (JPEG or PNG) for mp3, flac and m4b")
	fs.BoolVar(&f.trim, "trim", true, "trim leading and trailing silence of each segment before adding pauses")
	return f
}

// options checks the flags and turns them into export options.
func (f *exportFlags) options() (export.Options, error) {
	var o export.Options
	fi, err := export.Info(export.Format(strings.ToLower(f.format)))
	if err != nil {
		return o, err
	}
	if !fi.Available {
		return o, fmt.Errorf("--format %s is disabled on this machine: %s", f.format, fi.Reason)
	}
	o.Format = fi.Format
	o.Bitrate = f.bitrate
	o.Rate = f.rate
	o.Split = export.Split(strings.ToLower(f.split))
	if o.Subtitles, err = export.ParseSubtitles(f.subtitles); err != nil {
		return o, err
	}
	if o.Loudness, err = audio.PresetByName(f.loudness); err != nil {
		return o, err
	}
	o.Assembly.Trim.Enabled = f.trim
	return o, nil
}

// exportBook writes book to out with the flags' options and prints what it wrote. Tags given as
// flags override the book's own.
func (f *exportFlags) exportBook(ctx context.Context, env *Env, book *audio.Book, out string) error {
	o, err := f.options()
	if err != nil {
		return err
	}
	if f.title != "" {
		book.Title = f.title
	}
	if f.author != "" {
		book.Author = f.author
	}
	if f.narrator != "" {
		book.Narrator = f.narrator
	}
	if f.cover != "" {
		b, err := os.ReadFile(f.cover)
		if err != nil {
			return fmt.Errorf("reading the cover: %w", err)
		}
		book.Cover = b
	}
	if isTerminal(env.Stderr) {
		last := -1
		o.Progress = func(done float64) {
			if pct := int(done * 100); pct != last {
				last = pct
				fmt.Fprintf(env.Stderr, "\rexporting %3d%%", pct)
			}
		}
		defer fmt.Fprint(env.Stderr, "\r\033[K")
	}
	res, err := export.Export(ctx, book, out, o)
	if err != nil {
		return err
	}
	for _, file := range res.Files {
		fmt.Fprintf(env.Stdout, "%s\t%s\n", file.Path, formatSeconds(file.Seconds))
	}
	if o.Loudness.Enabled() {
		fmt.Fprintf(env.Stdout, "loudness: measured %.1f LUFS, gain %+.1f dB, target %s %.0f LUFS / %.0f dBTP\n",
			res.Measured, res.GainDB, o.Loudness.Name, o.Loudness.LUFS, o.Loudness.CeilingDBTP)
	}
	return nil
}

func formatSeconds(s float64) string {
	t := int64(s + 0.5)
	return fmt.Sprintf("%d:%02d:%02d", t/3600, t/60%60, t%60)
}
