package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"text/tabwriter"

	"github.com/viettts-studio/studio/backend/store"
)

func jobsCommand() Command {
	const synopsis = "[--all] [--json]"
	return Command{
		Name:    "jobs",
		Summary: "list the render jobs in the queue with their progress (unfinished ones unless --all)",
		Usage:   synopsis,
		Run: func(ctx context.Context, env *Env, args []string) int {
			fl := newFlags(env, "jobs", synopsis)
			all := fl.Bool("all", false, "also list finished jobs (done, failed, canceled)")
			asJSON := fl.Bool("json", false, "print JSON instead of a table")
			if err := fl.Parse(args); err != nil {
				return parseExit(err)
			}
			if fl.NArg() > 0 {
				fmt.Fprintf(env.Stderr, "jobs: unexpected argument %q\n", fl.Arg(0))
				return 2
			}
			rows, err := listJobs(ctx, env.Dirs.Database(), !*all)
			if err != nil {
				fmt.Fprintf(env.Stderr, "jobs: %v\n", err)
				return 1
			}
			if *asJSON {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rows); err != nil {
					fmt.Fprintf(env.Stderr, "jobs: %v\n", err)
					return 1
				}
				return 0
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "JOB\tPROJECT\tSTATE\tDONE\tFAILED\tCANCELED\tAUDIO\tPRIORITY")
			for _, r := range rows {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%d\t%d\t%.1f s\t%d\n", r.ID, r.Project, r.State, r.Done, r.Total,
					r.Failed, r.Canceled, r.AudioSeconds, r.Priority)
			}
			tw.Flush()
			if len(rows) == 0 {
				fmt.Fprintln(env.Stderr, "jobs: the queue is empty")
			}
			return 0
		},
	}
}

// jobRow is one job as `jobs --json` prints it.
type jobRow struct {
	ID           int64   `json:"id"`
	ProjectID    int64   `json:"project_id"`
	Project      string  `json:"project"`
	ChapterID    int64   `json:"chapter_id,omitempty"`
	State        string  `json:"state"`
	Priority     int     `json:"priority"`
	Total        int     `json:"total"`
	Done         int     `json:"done"`
	Queued       int     `json:"queued"`
	Running      int     `json:"running"`
	Paused       int     `json:"paused"`
	Failed       int     `json:"failed"`
	Canceled     int     `json:"canceled"`
	AudioSeconds float64 `json:"audio_seconds"`
}

// listJobs reads the jobs of the database at path; a database that does not exist yet has none
// (and is not created).
func listJobs(ctx context.Context, path string, active bool) ([]jobRow, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return []jobRow{}, nil
	}
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	jobs, err := st.Jobs(ctx, active)
	if err != nil {
		return nil, err
	}
	projects, err := st.Projects(ctx)
	if err != nil {
		return nil, err
	}
	titles := map[int64]string{}
	for _, p := range projects {
		titles[p.ID] = p.Title
	}
	rows := []jobRow{}
	for _, j := range jobs {
		rows = append(rows, jobRow{ID: j.ID, ProjectID: j.ProjectID, Project: titles[j.ProjectID], ChapterID: j.ChapterID,
			State: string(j.State), Priority: j.Priority, Total: j.Total, Done: j.Done, Queued: j.Queued,
			Running: j.Running, Paused: j.Paused, Failed: j.Failed, Canceled: j.Canceled, AudioSeconds: j.AudioSeconds})
	}
	return rows, nil
}
