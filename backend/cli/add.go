package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/viettts-studio/studio/backend/document"
	"github.com/viettts-studio/studio/backend/studio"
)

func addCommand() Command {
	const synopsis = "[--encoding E] [--voice V] FILE..."
	return Command{
		Name:    "add",
		Summary: "import documents into the app's queue (the app narrates them when it runs)",
		Usage:   synopsis,
		Run: func(ctx context.Context, env *Env, args []string) int {
			fs := newFlags(env, "add", synopsis)
			enc := fs.String("encoding", "", "character encoding of text files (default: detect); e.g. utf-8, utf-16le, cp1258, tcvn3, vni")
			voice := fs.String("voice", "", "voice to read with (default: the model's first voice)")
			if err := fs.Parse(args); err != nil {
				return parseExit(err)
			}
			if fs.NArg() == 0 {
				fs.Usage()
				return 2
			}
			var opts studio.ImportOptions
			opts.Queue, opts.ReadTitles, opts.Voice = true, true, *voice
			if *enc != "" {
				e, ok := document.ParseEncoding(*enc)
				if !ok {
					fmt.Fprintf(env.Stderr, "add: unknown encoding %q\n", *enc)
					return 2
				}
				opts.Document.Encoding = e
			}
			st, err := studio.Open(ctx, env.Dirs, studio.Engines{}, quietLogger())
			if err != nil {
				fmt.Fprintf(env.Stderr, "add: %v\n", err)
				return 1
			}
			defer st.Close(context.WithoutCancel(ctx))
			code := 0
			for _, p := range fs.Args() {
				imp, err := st.Import(ctx, p, opts)
				if err != nil {
					fmt.Fprintf(env.Stderr, "add: %v\n", err)
					code = 1
					continue
				}
				fmt.Fprintf(env.Stdout, "%s: project %d, %d chapters, %d segments, job %d queued\n",
					p, imp.Project.ID, imp.Chapters, imp.Segments, imp.Job.ID)
			}
			return code
		},
	}
}

// quietLogger logs warnings and errors to stderr: the command's own output is what it prints.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
