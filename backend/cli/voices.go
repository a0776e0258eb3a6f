package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/viettts"
)

func voicesCommand() Command {
	const synopsis = "[list] | add [flags] NAME CLIP"
	return Command{
		Name:    "voices",
		Summary: "list the voices, or clone a new one from a 3-10 s clip (wav, mp3, flac)",
		Usage:   synopsis,
		Run: func(ctx context.Context, env *Env, args []string) int {
			if len(args) > 0 && args[0] == "add" {
				return voicesAdd(ctx, env, args[1:])
			}
			if len(args) > 0 && args[0] != "list" && !strings.HasPrefix(args[0], "-") {
				fmt.Fprintf(env.Stderr, "voices: unknown subcommand %q: use `voices` or `voices add NAME CLIP`\n", args[0])
				return 2
			}
			fs := newFlags(env, "voices", synopsis)
			bundleFlag := fs.String("bundle", "", "model bundle folder (default: the installed model)")
			if len(args) > 0 && args[0] == "list" {
				args = args[1:]
			}
			if err := fs.Parse(args); err != nil {
				return parseExit(err)
			}
			return voicesList(env, *bundleFlag)
		},
	}
}

func voicesList(env *Env, bundleFlag string) int {
	dir := bundleFlag
	if dir == "" {
		dir = env.Dirs.Model()
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSOURCE\tPROMPT")
	n := 0
	b, err := bundle.Open(dir)
	if err != nil {
		fmt.Fprintf(env.Stderr, "voices: built-in voices unavailable: %v\n", err)
	} else {
		for _, bv := range b.Manifest.Voices {
			if strings.EqualFold(filepath.Ext(bv.Path), viettts.VoiceExt) {
				v, err := viettts.ReadVoice(b.Path(bv.Path))
				if err != nil {
					fmt.Fprintf(env.Stderr, "voices: %v\n", err)
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\tbuilt-in\t%.1f s\n", bv.ID, v.Name, float64(v.Frames())*256/22050)
			} else {
				fmt.Fprintf(tw, "%s\t%s\tbuilt-in (%s, prepared on first use)\t\n", bv.ID, bv.ID, filepath.Ext(bv.Path))
			}
			n++
		}
	}
	users, errs := viettts.ListVoices(env.Dirs.Voices)
	for _, err := range errs {
		fmt.Fprintf(env.Stderr, "voices: %v\n", err)
	}
	for _, v := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f s\n", v.ID, v.Name, orDash(v.Source), float64(v.Frames())*256/22050)
		n++
	}
	tw.Flush()
	if n == 0 {
		fmt.Fprintln(env.Stderr, "voices: no voices yet: install the model, or add one with `viettts-studio voices add NAME CLIP`")
	}
	return 0
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func voicesAdd(ctx context.Context, env *Env, args []string) int {
	const synopsis = "add [flags] NAME CLIP"
	fs := newFlags(env, "voices", synopsis)
	ef := addEngineFlags(fs)
	id := fs.String("id", "", "voice id (default: made from NAME)")
	if err := parseInterspersed(fs, args); err != nil {
		return parseExit(err)
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 2
	}
	name, clip := norm.NFC.String(strings.TrimSpace(fs.Arg(0))), fs.Arg(1)
	if *id == "" {
		*id = voiceID(name)
	}
	fail := func(err error) int {
		fmt.Fprintf(env.Stderr, "voices add: %v\n", err)
		return 1
	}
	samples, rate, err := viettts.DecodeClip(clip)
	if err != nil {
		return fail(err)
	}
	cfg, err := ef.session(1)
	if err != nil {
		return fail(err)
	}
	c, err := viettts.OpenCloner(ef.bundleDir(env), cfg)
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	v, err := c.Clone(ctx, samples, rate, *id, name)
	if err != nil {
		return fail(err)
	}
	v.Source = filepath.Base(clip)
	if err := viettts.WriteVoice(env.Dirs.Voices, v); err != nil {
		return fail(err)
	}
	fmt.Fprintf(env.Stdout, "added voice %s (%q): %.1f s prompt, %d speech tokens\n", v.ID, v.Name,
		float64(v.Frames())*256/22050, len(v.Tokens))
	return 0
}

// voiceID makes a file-safe id from a display name: lower-case letters and digits (Vietnamese
// letters kept), other runs turned into "-".
func voiceID(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		s = "voice"
	}
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40])
	}
	return strings.TrimRight(s, "-")
}
