// Package studio is the app's backend as one service: it opens the job store and the render cache,
// runs the scheduler on a pool of synthesis instances, imports documents into projects, applies
// lexicon changes, and publishes events. app.go (the GUI) and the CLI call it; it never imports
// Wails.
//
// The synthesis engines can change while the app runs (a model is installed, the instance count
// changes): SetEngines stops the scheduler, closes the old pool and starts new ones. Because every
// queue state lives in SQLite, nothing is lost across the switch; segments that were running go
// back to the queue.
package studio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"

	"golang.org/x/text/unicode/norm"

	"github.com/viettts-studio/studio/backend/document"
	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/backend/narration"
	"github.com/viettts-studio/studio/backend/render"
	"github.com/viettts-studio/studio/backend/scheduler"
	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/backend/textnorm"
	"github.com/viettts-studio/studio/backend/textnorm/segment"
	"github.com/viettts-studio/studio/inference"
)

// Pipeline is the version of the synthesis pipeline; it is part of every render key.
const Pipeline = "viettts-go-1"

// ErrNoEngines is returned by commands that need synthesis when no model is installed.
var ErrNoEngines = errors.New("no model is installed: install one in Settings → Model or with `viettts-studio model download`")

// Engines is a set of synthesis instances to run: how to build them and how many.
type Engines struct {
	Factory inference.Factory
	// ModelID identifies the model in render keys (a new model renders afresh).
	ModelID string
	Size    int
	Reason  inference.Reason
	// Tokens measures text the way the model's tokenizer does, for segmentation; nil approximates.
	Tokens segment.TokenCounter
	// DefaultVoice is the voice new projects read with.
	DefaultVoice string
}

// Studio is the backend. Open it, Close it.
type Studio struct {
	dirs  home.Dirs
	log   *slog.Logger
	store *store.Store
	cache *render.Cache
	bus   *events.Bus

	mu      sync.RWMutex
	sched   *scheduler.Scheduler
	pool    *inference.Pool
	engines Engines
}

// Open opens the data in dirs and, when engines has a factory, starts synthesis.
func Open(ctx context.Context, dirs home.Dirs, engines Engines, log *slog.Logger) (*Studio, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := dirs.Ensure(); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, dirs.Database(), store.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	cache, err := render.Open(dirs.Renders)
	if err != nil {
		st.Close()
		return nil, err
	}
	s := &Studio{dirs: dirs, log: log, store: st, cache: cache, bus: events.NewBus(0)}
	s.sched = s.newScheduler(nil, engines)
	if engines.Factory != nil {
		if err := s.SetEngines(ctx, engines); err != nil {
			s.Close(ctx)
			return nil, err
		}
	}
	return s, nil
}

func (s *Studio) newScheduler(pool *inference.Pool, e Engines) *scheduler.Scheduler {
	return scheduler.New(scheduler.Config{Store: s.store, Pool: pool, Cache: s.cache, Bus: s.bus,
		ModelID: e.ModelID, Pipeline: Pipeline, Logger: s.log})
}

// SetEngines replaces the running synthesis with engines: the scheduler stops (running segments
// go back to the queue), the old pool closes, and a new pool and scheduler start.
func (s *Studio) SetEngines(ctx context.Context, e Engines) error {
	if e.Factory == nil {
		return errors.New("studio: SetEngines needs a factory")
	}
	if e.Size < 1 {
		e.Size = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopLocked(ctx); err != nil {
		s.log.Warn("stopping synthesis", "err", err)
	}
	pool := inference.NewPool(inference.PoolConfig{Factory: e.Factory, Size: e.Size, Reason: e.Reason,
		OnEvent: scheduler.PoolEvents(s.bus), Logger: s.log})
	sched := s.newScheduler(pool, e)
	rec, err := sched.Run(ctx)
	if err != nil {
		pool.Close(ctx)
		return fmt.Errorf("starting synthesis: %w", err)
	}
	s.log.Info("synthesis started", "model", e.ModelID, "instances", e.Size, "why", e.Reason, "recovery", fmt.Sprintf("%+v", rec))
	s.pool, s.sched, s.engines = pool, sched, e
	return nil
}

func (s *Studio) stopLocked(ctx context.Context) error {
	var errs []error
	if s.sched != nil {
		errs = append(errs, s.sched.Stop(ctx))
	}
	if s.pool != nil {
		errs = append(errs, s.pool.Close(ctx))
		s.pool = nil
	}
	return errors.Join(errs...)
}

// Close stops synthesis (running segments finish or go back to the queue when ctx ends) and
// closes the store.
func (s *Studio) Close(ctx context.Context) error {
	s.mu.Lock()
	err := s.stopLocked(ctx)
	s.mu.Unlock()
	s.bus.Close()
	return errors.Join(err, s.store.Close())
}

// Scheduler is the current scheduler: every queue command (pause, resume, cancel, retry, move,
// edit) goes through it.
func (s *Studio) Scheduler() *scheduler.Scheduler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sched
}

// Storage reports whether rendering is held because the disk of the render cache is full, and
// that cache's folder, where space must be freed.
func (s *Studio) Storage() (full bool, dir string) {
	if sched := s.Scheduler(); sched != nil {
		full, _ = sched.StorageFull()
	}
	return full, s.cache.Dir()
}

// Store gives read access to projects, chapters, segments and settings.
func (s *Studio) Store() *store.Store { return s.store }

// Cache is the render cache.
func (s *Studio) Cache() *render.Cache { return s.cache }

// Subscribe returns a subscription to every backend event.
func (s *Studio) Subscribe() *events.Subscription { return s.bus.Subscribe() }

// Synthesizing reports whether engines are running, how many, and why that many.
func (s *Studio) Synthesizing() (running bool, size int, reason inference.Reason) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.pool == nil {
		return false, 0, inference.NewReason("no-model")
	}
	n, why := s.pool.Size()
	return true, n, why
}

// ImportOptions tune Import.
type ImportOptions struct {
	Document document.Options
	// Voice reads the project; empty takes the engines' default voice.
	Voice string
	// Speed is the reading speed (1 when 0).
	Speed float64
	// ReadTitles reads chapter titles aloud.
	ReadTitles bool
	// Queue makes a job for the whole project at once.
	Queue bool
}

// Imported is the result of Import.
type Imported struct {
	Project  store.Project
	Job      store.Job // zero unless ImportOptions.Queue
	Chapters int
	Segments int
}

// segmentMeta is what a stored segment's Spans column holds: the word spans and the pause.
type segmentMeta struct {
	Words []textnorm.Word    `json:"words"`
	Pause segment.Pause      `json:"pause"`
	Block int                `json:"block"`
	Kind  document.BlockKind `json:"kind"`
	Cue   *document.CueTimes `json:"cue,omitempty"`
}

// Import reads the document at path, normalizes and segments it with the global lexicon, stores
// it as a project and, with opts.Queue, queues it.
func (s *Studio) Import(ctx context.Context, path string, opts ImportOptions) (Imported, error) {
	doc, err := document.Import(ctx, path, opts.Document)
	if err != nil {
		return Imported{}, err
	}
	lex, err := s.lexicon(ctx, 0)
	if err != nil {
		return Imported{}, err
	}
	s.mu.RLock()
	e := s.engines
	s.mu.RUnlock()
	voice := opts.Voice
	if voice == "" {
		voice = e.DefaultVoice
	}
	speed := opts.Speed
	if speed <= 0 {
		speed = 1
	}
	plan := narration.Plan(doc, textnorm.New(textnorm.Options{Lexicon: lex}), e.Tokens, narration.Options{ReadTitles: opts.ReadTitles})
	np := store.NewProject{Title: doc.Title, SourcePath: path, Format: string(doc.Format)}
	n := 0
	for _, ch := range plan {
		nc := store.NewChapter{Title: ch.Title}
		for _, sg := range ch.Segments {
			meta, _ := json.Marshal(segmentMeta{Words: sg.Words, Pause: sg.Pause, Block: sg.Block, Kind: sg.Kind, Cue: sg.Cue})
			nc.Segments = append(nc.Segments, store.NewSegment{Source: sg.Source, Spoken: sg.Spoken, Spans: meta,
				Voice: voice, Speed: speed, Seed: SeedOf(sg.Spoken)})
			n++
		}
		np.Chapters = append(np.Chapters, nc)
	}
	if n == 0 {
		return Imported{}, fmt.Errorf("%s has no text to read (is it a scanned PDF or an empty file?)", path)
	}
	sched := s.Scheduler()
	p, err := sched.CreateProject(ctx, np)
	if err != nil {
		return Imported{}, err
	}
	out := Imported{Project: p, Chapters: len(np.Chapters), Segments: n}
	if opts.Queue {
		if out.Job, err = sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID}); err != nil {
			return out, err
		}
	}
	s.log.Info("imported", "path", path, "project", p.ID, "chapters", out.Chapters, "segments", n)
	return out, nil
}

// SeedOf is the default seed of a segment: derived from its spoken text, so the same sentence
// reads the same way everywhere and re-importing a document hits the render cache.
func SeedOf(spoken string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(norm.NFC.String(spoken)))
	return h.Sum64()
}

// lexicon returns the entries that apply to project (0: global only), project entries first so
// they win.
func (s *Studio) lexicon(ctx context.Context, project int64) ([]textnorm.LexEntry, error) {
	var out []textnorm.LexEntry
	scopes := []int64{0}
	if project != 0 {
		scopes = []int64{project, 0}
	}
	for _, scope := range scopes {
		es, err := s.store.LexiconEntries(ctx, scope)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if e.ProjectID == scope {
				out = append(out, textnorm.LexEntry{Pattern: e.Pattern, Spoken: e.Spoken, IsRegex: e.IsRegex})
			}
		}
	}
	return out, nil
}

// AddLexiconEntry adds (or replaces) a lexicon entry — global when e.ProjectID is 0 — and marks
// exactly the segments whose reading it changes for re-rendering. It returns those segments' ids.
func (s *Studio) AddLexiconEntry(ctx context.Context, e store.LexiconEntry) ([]int64, error) {
	if err := textnorm.ValidateLexicon([]textnorm.LexEntry{{Pattern: e.Pattern, Spoken: e.Spoken, IsRegex: e.IsRegex}}); err != nil {
		return nil, err
	}
	projects, err := s.projectsOf(ctx, e.ProjectID)
	if err != nil {
		return nil, err
	}
	before := map[int64][]textnorm.LexEntry{}
	for _, p := range projects {
		if before[p.ID], err = s.lexicon(ctx, p.ID); err != nil {
			return nil, err
		}
	}
	if _, err := s.store.AddLexiconEntry(ctx, e); err != nil {
		return nil, err
	}
	var changed []int64
	for _, p := range projects {
		after, err := s.lexicon(ctx, p.ID)
		if err != nil {
			return changed, err
		}
		ids, err := s.reread(ctx, p.ID, before[p.ID], after)
		changed = append(changed, ids...)
		if err != nil {
			return changed, err
		}
	}
	return changed, nil
}

func (s *Studio) projectsOf(ctx context.Context, project int64) ([]store.Project, error) {
	all, err := s.store.Projects(ctx)
	if project == 0 || err != nil {
		return all, err
	}
	for _, p := range all {
		if p.ID == project {
			return []store.Project{p}, nil
		}
	}
	return nil, fmt.Errorf("project %d: %w", project, store.ErrNotFound)
}

// reread finds the segments of project whose reading differs between the two lexicons, gives them
// their new spoken form and queues them in the interactive lane.
func (s *Studio) reread(ctx context.Context, project int64, oldLex, newLex []textnorm.LexEntry) ([]int64, error) {
	chapters, err := s.store.Chapters(ctx, project)
	if err != nil {
		return nil, err
	}
	var segs []store.Segment
	for _, c := range chapters {
		cs, err := s.store.Segments(ctx, store.SegmentQuery{ChapterID: c.ID})
		if err != nil {
			return nil, err
		}
		segs = append(segs, cs...)
	}
	sources := make([]string, len(segs))
	for i, g := range segs {
		sources[i] = g.Source
	}
	n := textnorm.New(textnorm.Options{Lexicon: newLex})
	sched := s.Scheduler()
	var ids []int64
	for _, i := range textnorm.Changed(textnorm.Options{}, oldLex, newLex, sources) {
		g := segs[i]
		spoken := n.Normalize(g.Source).Spoken
		if spoken == g.Spoken {
			continue
		}
		if _, err := sched.EditSegment(ctx, g.ID, spoken, true); err != nil {
			return ids, fmt.Errorf("re-reading segment %d: %w", g.ID, err)
		}
		ids = append(ids, g.ID)
	}
	return ids, nil
}

// WaitIdle waits until no job is active or ctx ends; for the CLI and tests. It re-checks the
// store on every job event.
func (s *Studio) WaitIdle(ctx context.Context) error {
	sub := s.bus.Subscribe()
	defer sub.Close()
	for {
		n, err := s.store.ActiveJobs(ctx)
		if err != nil || n == 0 {
			return err
		}
		for {
			ev, err := sub.Next(ctx)
			if err != nil {
				return err
			}
			if _, ok := ev.(events.JobProgress); ok {
				break
			}
		}
	}
}
