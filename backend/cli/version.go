package cli

import (
	"context"
	"fmt"
	"runtime"

	"github.com/viettts-studio/studio/backend/buildinfo"
)

func versionCommand() Command {
	return Command{
		Name:    "version",
		Summary: "print the version",
		Run: func(ctx context.Context, env *Env, args []string) int {
			fmt.Fprintf(env.Stdout, "viettts-studio %s (%s, %s, %s/%s)\n", buildinfo.Version,
				buildinfo.Commit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return 0
		},
	}
}
