package cli

import (
	"context"
	"encoding/json"

	"github.com/viettts-studio/studio/backend/system"
)

func doctorCommand() Command {
	return Command{
		Name:    "doctor",
		Summary: "check ONNX Runtime, GPU, CUDA libraries, data folders and the model",
		Usage:   "[--json]",
		Run: func(ctx context.Context, env *Env, args []string) int {
			fs := newFlags(env, "doctor", "[--json]")
			asJSON := fs.Bool("json", false, "print the report as JSON")
			if err := fs.Parse(args); err != nil {
				return parseExit(err)
			}
			r := system.Diagnose(env.Dirs)
			if *asJSON {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				enc.Encode(r)
			} else {
				r.Print(env.Stdout)
			}
			if r.ORT.Error != "" {
				return 1
			}
			return 0
		},
	}
}
