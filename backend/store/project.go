package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/viettts-studio/studio/inference"
)

// ErrNotFound means the row asked for does not exist.
var ErrNotFound = errors.New("not found")

// NewProject is an imported document to store: its chapters and their segments, in order.
type NewProject struct {
	Title      string
	SourcePath string
	Format     string
	Chapters   []NewChapter
}

// NewChapter is one chapter of a NewProject.
type NewChapter struct {
	Title    string
	Segments []NewSegment
}

// NewSegment is one segment of a NewChapter.
type NewSegment struct {
	// Source is the text as it appears in the document; Spoken its spoken form.
	Source, Spoken string
	// Spans maps the spoken form back to the source and carries pause information; it is
	// stored as given (JSON), nil as null.
	Spans json.RawMessage
	Voice string
	// Speed defaults to 1.
	Speed float64
	Seed  uint64
}

// Project is a stored project.
type Project struct {
	ID         int64
	Title      string
	SourcePath string
	Format     string
	Created    time.Time
}

// Chapter is a stored chapter.
type Chapter struct {
	ID        int64
	ProjectID int64
	Index     int
	Title     string
}

// Segment is a stored segment with its queue state.
type Segment struct {
	ID         int64
	ChapterID  int64
	Index      int
	Source     string
	Spoken     string
	Spans      json.RawMessage
	Voice      string
	Speed      float64
	Seed       uint64
	State      State
	JobID      int64 // 0 when no job owns it
	Attempts   int
	RenderHash string
	Error      string
	Seconds    float64
}

// CreateProject stores a project with its chapters and segments in one transaction. Texts are
// NFC-normalized.
func (s *Store) CreateProject(ctx context.Context, p NewProject) (Project, error) {
	var out Project
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.CreateProjectTx(ctx, tx, p)
		return err
	})
	return out, err
}

// CreateProjectTx is CreateProject inside tx.
func (s *Store) CreateProjectTx(ctx context.Context, tx *sql.Tx, p NewProject) (Project, error) {
	now := s.now()
	out := Project{Title: nfc(p.Title), SourcePath: p.SourcePath, Format: p.Format, Created: time.UnixMilli(now.UnixMilli())}
	res, err := tx.ExecContext(ctx, `INSERT INTO projects (title, source_path, format, created_at) VALUES (?, ?, ?, ?)`,
		out.Title, out.SourcePath, out.Format, now.UnixMilli())
	if err != nil {
		return Project{}, fmt.Errorf("storing project %q: %w", p.Title, err)
	}
	out.ID, _ = res.LastInsertId()
	segStmt, err := tx.PrepareContext(ctx, `INSERT INTO segments (chapter_id, idx, source_text, spoken_text, spans, voice, speed, seed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return Project{}, err
	}
	defer segStmt.Close()
	for ci, c := range p.Chapters {
		res, err := tx.ExecContext(ctx, `INSERT INTO chapters (project_id, idx, title) VALUES (?, ?, ?)`, out.ID, ci, nfc(c.Title))
		if err != nil {
			return Project{}, fmt.Errorf("storing chapter %d of %q: %w", ci+1, p.Title, err)
		}
		chID, _ := res.LastInsertId()
		for si, sg := range c.Segments {
			speed := sg.Speed
			if speed == 0 {
				speed = 1
			}
			if speed < 0.25 || speed > 4 {
				return Project{}, fmt.Errorf("segment %d of chapter %d has speed %v: use a speed from 0.25 to 4", si+1, ci+1, speed)
			}
			spans := "null"
			if len(sg.Spans) > 0 {
				if !json.Valid(sg.Spans) {
					return Project{}, fmt.Errorf("segment %d of chapter %d: spans are not valid JSON", si+1, ci+1)
				}
				spans = string(sg.Spans)
			}
			if _, err := segStmt.ExecContext(ctx, chID, si, nfc(sg.Source), nfc(sg.Spoken), spans, sg.Voice, speed, int64(sg.Seed)); err != nil {
				return Project{}, fmt.Errorf("storing segment %d of chapter %d: %w", si+1, ci+1, err)
			}
		}
	}
	return out, nil
}

// DeleteProject removes a project with its chapters, segments and jobs. Render files stay in the
// cache (other projects may share them).
func (s *Store) DeleteProject(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM projects WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("project %d: %w", id, ErrNotFound)
		}
		return nil
	})
}

// Projects lists every project, newest first.
func (s *Store) Projects(ctx context.Context) ([]Project, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, title, source_path, format, created_at FROM projects ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("listing projects: %w", err)
	}
	defer rows.Close()
	var out []Project
	for rows.Next() {
		var p Project
		var created int64
		if err := rows.Scan(&p.ID, &p.Title, &p.SourcePath, &p.Format, &created); err != nil {
			return nil, err
		}
		p.Created = time.UnixMilli(created)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Chapters lists the chapters of a project in order.
func (s *Store) Chapters(ctx context.Context, projectID int64) ([]Chapter, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, project_id, idx, title FROM chapters WHERE project_id = ? ORDER BY idx`, projectID)
	if err != nil {
		return nil, fmt.Errorf("listing chapters of project %d: %w", projectID, err)
	}
	defer rows.Close()
	var out []Chapter
	for rows.Next() {
		var c Chapter
		if err := rows.Scan(&c.ID, &c.ProjectID, &c.Index, &c.Title); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SegmentQuery selects segments; zero fields do not filter.
type SegmentQuery struct {
	ProjectID int64
	ChapterID int64
	JobID     int64
	State     State
}

const segmentColumns = `s.id, s.chapter_id, s.idx, s.source_text, s.spoken_text, s.spans, s.voice, s.speed, s.seed,
	s.state, coalesce(s.job_id, 0), s.attempts, s.render_hash, s.error, s.seconds`

func scanSegment(sc interface{ Scan(...any) error }) (Segment, error) {
	var g Segment
	var spans string
	var seed int64
	err := sc.Scan(&g.ID, &g.ChapterID, &g.Index, &g.Source, &g.Spoken, &spans, &g.Voice, &g.Speed, &seed,
		&g.State, &g.JobID, &g.Attempts, &g.RenderHash, &g.Error, &g.Seconds)
	g.Spans = json.RawMessage(spans)
	g.Seed = uint64(seed)
	return g, err
}

// Segments lists segments in document order.
func (s *Store) Segments(ctx context.Context, q SegmentQuery) ([]Segment, error) {
	var where []string
	var args []any
	if q.ProjectID != 0 {
		where = append(where, "c.project_id = ?")
		args = append(args, q.ProjectID)
	}
	if q.ChapterID != 0 {
		where = append(where, "s.chapter_id = ?")
		args = append(args, q.ChapterID)
	}
	if q.JobID != 0 {
		where = append(where, "s.job_id = ?")
		args = append(args, q.JobID)
	}
	if q.State != "" {
		where = append(where, "s.state = ?")
		args = append(args, string(q.State))
	}
	query := `SELECT ` + segmentColumns + ` FROM segments s JOIN chapters c ON c.id = s.chapter_id`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY c.project_id, c.idx, s.idx"
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing segments: %w", err)
	}
	defer rows.Close()
	var out []Segment
	for rows.Next() {
		g, err := scanSegment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// Segment returns one segment.
func (s *Store) Segment(ctx context.Context, id int64) (Segment, error) {
	g, err := scanSegment(s.r.QueryRowContext(ctx, `SELECT `+segmentColumns+` FROM segments s WHERE s.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Segment{}, fmt.Errorf("segment %d: %w", id, ErrNotFound)
	}
	return g, err
}

// Voice is a voice the user can pick: built into the model bundle or made from the user's clip.
type Voice struct {
	ID       string
	Name     string
	Source   string // "builtin" or "user"
	ClipPath string
	Created  time.Time
}

// PutVoice adds or replaces a voice.
func (s *Store) PutVoice(ctx context.Context, v Voice) error {
	if v.ID == "" {
		return errors.New("a voice needs an id")
	}
	if v.Source != "builtin" && v.Source != "user" {
		return fmt.Errorf("voice %s has source %q: use builtin or user", v.ID, v.Source)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO voices (id, name, source, clip_path, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, source = excluded.source, clip_path = excluded.clip_path`,
			v.ID, nfc(v.Name), v.Source, v.ClipPath, s.millis())
		return err
	})
}

// Voices lists the voices by id.
func (s *Store) Voices(ctx context.Context) ([]Voice, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, source, clip_path, created_at FROM voices ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("listing voices: %w", err)
	}
	defer rows.Close()
	var out []Voice
	for rows.Next() {
		var v Voice
		var c int64
		if err := rows.Scan(&v.ID, &v.Name, &v.Source, &v.ClipPath, &c); err != nil {
			return nil, err
		}
		v.Created = time.UnixMilli(c)
		out = append(out, v)
	}
	return out, rows.Err()
}

// DeleteVoice removes a voice.
func (s *Store) DeleteVoice(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM voices WHERE id = ?`, id)
		return err
	})
}

// LexiconEntry tells the normalizer how to say a word: Pattern (literal or a regular expression)
// is spoken as Spoken. ProjectID 0 is a global entry.
type LexiconEntry struct {
	ID        int64
	ProjectID int64
	Pattern   string
	Spoken    string
	IsRegex   bool
}

// AddLexiconEntry adds an entry or replaces the one with the same scope and pattern. Texts are
// NFC-normalized; a regular expression must compile.
func (s *Store) AddLexiconEntry(ctx context.Context, e LexiconEntry) (LexiconEntry, error) {
	e.Pattern, e.Spoken = nfc(e.Pattern), nfc(e.Spoken)
	if strings.TrimSpace(e.Pattern) == "" {
		return e, errors.New("a lexicon entry needs a word or pattern to match")
	}
	if e.IsRegex {
		if _, err := regexp.Compile(e.Pattern); err != nil {
			return e, fmt.Errorf("lexicon pattern %q is not a valid regular expression: %w", e.Pattern, err)
		}
	}
	var project any
	if e.ProjectID != 0 {
		project = e.ProjectID
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO lexicon (project_id, pattern, spoken, is_regex, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (coalesce(project_id, 0), pattern) DO UPDATE SET spoken = excluded.spoken, is_regex = excluded.is_regex
			RETURNING id`, project, e.Pattern, e.Spoken, e.IsRegex, s.millis()).Scan(&e.ID)
	})
	if err != nil {
		return e, fmt.Errorf("storing lexicon entry %q: %w", e.Pattern, err)
	}
	return e, nil
}

// LexiconEntries lists the global entries and those of projectID (0: global only), global first.
func (s *Store) LexiconEntries(ctx context.Context, projectID int64) ([]LexiconEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, coalesce(project_id, 0), pattern, spoken, is_regex FROM lexicon
		WHERE project_id IS NULL OR project_id = ? ORDER BY coalesce(project_id, 0), id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("listing lexicon entries: %w", err)
	}
	defer rows.Close()
	var out []LexiconEntry
	for rows.Next() {
		var e LexiconEntry
		if err := rows.Scan(&e.ID, &e.ProjectID, &e.Pattern, &e.Spoken, &e.IsRegex); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteLexiconEntry removes an entry.
func (s *Store) DeleteLexiconEntry(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM lexicon WHERE id = ?`, id)
		return err
	})
}

// Settings reads and writes typed settings. Each setting has one accessor with its default and
// validation.
type Settings struct{ s *Store }

// Settings returns the settings accessor.
func (s *Store) Settings() Settings { return Settings{s} }

// Setting keys.
const (
	SettingInstances = "instances"
	SettingProvider  = "provider"
)

func (st Settings) get(ctx context.Context, key, def string) (string, error) {
	var v string
	err := st.s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return def, nil
	}
	if err != nil {
		return def, fmt.Errorf("reading setting %s: %w", key, err)
	}
	return v, nil
}

func (st Settings) set(ctx context.Context, key, value string) error {
	return st.s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
}

// Instances is the `instances` setting: "default", "auto" or a count (see inference.ResolveSize).
// A stored value that is not valid reads as "default", with a warning in the log.
func (st Settings) Instances(ctx context.Context) (string, error) {
	v, err := st.get(ctx, SettingInstances, "default")
	if err != nil {
		return "default", err
	}
	if validInstances(v) != nil {
		st.s.log.Warn("ignoring invalid setting", "key", SettingInstances, "value", v)
		return "default", nil
	}
	return v, nil
}

// SetInstances stores the `instances` setting.
func (st Settings) SetInstances(ctx context.Context, v string) error {
	v = strings.ToLower(strings.TrimSpace(v))
	if err := validInstances(v); err != nil {
		return err
	}
	return st.set(ctx, SettingInstances, v)
}

func validInstances(v string) error {
	if v == "default" || v == "auto" {
		return nil
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= inference.MaxInstances {
		return nil
	}
	return fmt.Errorf("instances %q is not valid: use default, auto, or a number from 1 to %d", v, inference.MaxInstances)
}

// Providers are the values of the `provider` setting.
var Providers = []string{"auto", "cuda", "directml", "cpu"}

// Provider is the `provider` setting (default "auto": CUDA, then DirectML, then CPU).
func (st Settings) Provider(ctx context.Context) (string, error) {
	v, err := st.get(ctx, SettingProvider, "auto")
	if err != nil {
		return "auto", err
	}
	for _, p := range Providers {
		if v == p {
			return v, nil
		}
	}
	st.s.log.Warn("ignoring invalid setting", "key", SettingProvider, "value", v)
	return "auto", nil
}

// SetProvider stores the `provider` setting.
func (st Settings) SetProvider(ctx context.Context, v string) error {
	v = strings.ToLower(strings.TrimSpace(v))
	for _, p := range Providers {
		if v == p {
			return st.set(ctx, SettingProvider, v)
		}
	}
	return fmt.Errorf("provider %q is not valid: use one of %s", v, strings.Join(Providers, ", "))
}

func nfc(s string) string { return norm.NFC.String(s) }

func jsonInts(v []int64) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func jsonStrings(v []string) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// ChapterProject returns the project a chapter belongs to.
func (s *Store) ChapterProject(ctx context.Context, chapterID int64) (int64, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, `SELECT project_id FROM chapters WHERE id = ?`, chapterID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("chapter %d: %w", chapterID, ErrNotFound)
	}
	return id, err
}

// LogValue keeps logs short: ids and state, not the text.
func (g Segment) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("id", g.ID), slog.Int64("job", g.JobID), slog.String("state", string(g.State)),
		slog.Int("attempts", g.Attempts), slog.Int("chars", len([]rune(g.Spoken))))
}

// LogValue is the job's id, state and progress.
func (j Job) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("id", j.ID), slog.String("state", string(j.State)),
		slog.Int("done", j.Done), slog.Int("total", j.Total), slog.Int("failed", j.Failed))
}

// Reading is how a project (ChapterID 0) or one of its chapters is to be read: with Voice (""
// keeps each segment's) at Speed (0 keeps each segment's). One of them must be set.
type Reading struct {
	ProjectID int64
	ChapterID int64
	Voice     string
	Speed     float64
}

// SetReading gives the segments in r's scope its voice and speed. Segments that already read
// that way are left alone, audio included; each other one becomes new, leaves its job and loses
// its render, like an edit. It returns their ids, in document order, and their running syntheses,
// whose leases are now void: a result of the old reading can no longer complete. Queue the
// changed segments again with a job.
func (s *Store) SetReading(ctx context.Context, r Reading) (changed []int64, running []Running, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		changed, running, err = s.SetReadingTx(ctx, tx, r)
		return err
	})
	return changed, running, err
}

// SetReadingTx is SetReading inside tx.
func (s *Store) SetReadingTx(ctx context.Context, tx *sql.Tx, r Reading) ([]int64, []Running, error) {
	voice := nfc(strings.TrimSpace(r.Voice))
	if voice == "" && r.Speed == 0 {
		return nil, nil, errors.New("choose a voice or a speed to read with")
	}
	if r.Speed != 0 && (r.Speed < 0.25 || r.Speed > 4) {
		return nil, nil, fmt.Errorf("speed %v is not valid: use a speed from 0.25 to 4", r.Speed)
	}
	if err := scopeExists(ctx, tx, r.ProjectID, r.ChapterID); err != nil {
		return nil, nil, err
	}
	scope := `SELECT s.id FROM segments s JOIN chapters c ON c.id = s.chapter_id WHERE c.project_id = ?`
	args := []any{r.ProjectID}
	if r.ChapterID != 0 {
		scope += ` AND s.chapter_id = ?`
		args = append(args, r.ChapterID)
	}
	var differs []string
	if voice != "" {
		differs = append(differs, `s.voice != ?`)
		args = append(args, voice)
	}
	if r.Speed != 0 {
		differs = append(differs, `s.speed != ?`)
		args = append(args, r.Speed)
	}
	ids, err := queryInts(ctx, tx, scope+` AND (`+strings.Join(differs, ` OR `)+`) ORDER BY c.idx, s.idx`, args...)
	if err != nil || len(ids) == 0 {
		return nil, nil, err
	}
	list, err := jsonInts(ids)
	if err != nil {
		return nil, nil, err
	}
	running, err := s.runningOf(ctx, tx, `id IN (SELECT value FROM json_each(?))`, list)
	if err != nil {
		return nil, nil, err
	}
	jobs, err := queryInts(ctx, tx, `SELECT DISTINCT job_id FROM segments WHERE job_id IS NOT NULL AND id IN (SELECT value FROM json_each(?))`, list)
	if err != nil {
		return nil, nil, err
	}
	// voice = coalesce(?, voice): a NULL keeps each segment's.
	var newVoice, newSpeed any
	if voice != "" {
		newVoice = voice
	}
	if r.Speed != 0 {
		newSpeed = r.Speed
	}
	if _, err := tx.ExecContext(ctx, `UPDATE segments SET voice = coalesce(?, voice), speed = coalesce(?, speed), state = 'new', job_id = NULL, lease = '',
		render_hash = '', seconds = 0, error = '', attempts = 0, not_before = 0
		WHERE id IN (SELECT value FROM json_each(?))`, newVoice, newSpeed, list); err != nil {
		return nil, nil, fmt.Errorf("changing the voice of %d segments: %w", len(ids), err)
	}
	for _, j := range jobs {
		if _, err := s.refreshJob(ctx, tx, j); err != nil {
			return nil, nil, err
		}
	}
	return ids, running, nil
}

func scopeExists(ctx context.Context, tx *sql.Tx, projectID, chapterID int64) error {
	var n int
	if chapterID == 0 {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM projects WHERE id = ?`, projectID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("project %d: %w", projectID, ErrNotFound)
		}
		return nil
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM chapters WHERE id = ? AND project_id = ?`, chapterID, projectID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("chapter %d of project %d: %w", chapterID, projectID, ErrNotFound)
	}
	return nil
}

// ReadingCount is how many segments of a chapter read with one voice at one speed.
type ReadingCount struct {
	ChapterID int64
	Voice     string
	Speed     float64
	Segments  int
}

// Readings counts the segments of each chapter of a project by voice and speed, in chapter order
// and then by voice.
func (s *Store) Readings(ctx context.Context, projectID int64) ([]ReadingCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT s.chapter_id, s.voice, s.speed, count(*) FROM segments s
		JOIN chapters c ON c.id = s.chapter_id WHERE c.project_id = ?
		GROUP BY s.chapter_id, s.voice, s.speed ORDER BY min(c.idx), s.voice, s.speed`, projectID)
	if err != nil {
		return nil, fmt.Errorf("reading the voices of project %d: %w", projectID, err)
	}
	defer rows.Close()
	var out []ReadingCount
	for rows.Next() {
		var rc ReadingCount
		if err := rows.Scan(&rc.ChapterID, &rc.Voice, &rc.Speed, &rc.Segments); err != nil {
			return nil, err
		}
		out = append(out, rc)
	}
	return out, rows.Err()
}
