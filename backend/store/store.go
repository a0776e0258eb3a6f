// Package store is VietTTS Studio's durable state in one SQLite file: imported projects with
// their chapters and segments, the jobs that render them, the render index, voices, lexicon
// entries and settings. It is also the work queue the scheduler claims segments from.
//
// # States
//
// A segment is the unit of synthesis. Its state:
//
//	new ──enqueue──► queued ──claim──► running ──complete──► done
//	                 ▲  │ ▲               │ │ fail (bad input / attempts used up)
//	          resume │  │ │ retry later   │ └────────► failed ──retry──► queued
//	                 │  ▼ └───────────────┘
//	                paused            cancel (queued, paused, running) ──► canceled ──retry──► queued
//	edit (any state) ──► new; start-up recovery: running ──► queued (attempts + 1)
//
// A job asks for the segments of a project, a chapter or a few segments to be rendered; it owns
// those segments (segments.job_id). Its state:
//
//	queued ──first claim──► running ──nothing left──► done | failed (some segment failed)
//	   │ ▲                   │ ▲
//	pause│ resume       pause│ │resume        cancel (any unfinished state) ──► canceled
//	   ▼ │                   ▼ │              retry (failed, canceled) ──► queued
//	  paused ◄───────────────┘
//
// Pause and cancel are the user's word: a paused job stays paused, even when its last running
// segment finishes, until it is resumed; a canceled job stays canceled until retried.
//
// # Order of work
//
// Claim takes the next queued segment of the job with the highest priority (the interactive lane,
// PriorityInteractive, is ahead of bulk work); among jobs of equal priority, the one served least
// recently (round robin, so a short document is not stuck behind a book), then the job's
// position (MoveJob), then document order.
//
// # Fencing
//
// A claim sets a random lease token on the segment. Complete, Fail, RetryLater and Requeue must
// present it and fail with ErrLeaseLost when the segment was canceled, edited, recovered or
// claimed again since: a worker that lost its lease cannot overwrite a newer result.
//
// # Connections
//
// One writer connection (every write is a BEGIN IMMEDIATE transaction, so writers queue on the
// busy timeout instead of failing) and a small pool of read connections; WAL journal, foreign
// keys on. Every queue operation has a Tx form so a caller can commit its own rows with it.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is an open database. It is safe for concurrent use.
type Store struct {
	path string
	w    *sql.DB // the single writer connection
	r    *sql.DB // readers
	log  *slog.Logger
	// now is the clock; tests replace it.
	now func() time.Time

	stmtMu sync.Mutex
	stmts  map[stmtKey]*sql.Stmt
}

// ErrNewerSchema means the database was written by a newer version of the app.
var ErrNewerSchema = errors.New("the database was written by a newer version of VietTTS Studio")

// ErrCorrupt means SQLite's integrity check failed.
var ErrCorrupt = errors.New("the database is damaged")

// Options configure Open.
type Options struct {
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path and migrates it to the current schema.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	s := &Store{path: path, w: w, log: opts.Logger, now: opts.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.prepareHot(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening database %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	s.r = r
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// IsFull reports SQLite's "database or disk is full": the disk under the database has no room
// for the write, which changed nothing.
func IsFull(err error) bool {
	var e interface{ Code() int }
	return errors.As(err, &e) && e.Code()&0xff == sqliteFull
}

// sqliteFull is SQLITE_FULL, the primary result code of a full disk.
const sqliteFull = 13

// Dir is the folder of the database file (where a full disk must be freed).
func (s *Store) Dir() string { return filepath.Dir(s.path) }

// Close checkpoints the WAL into the main file and closes the connections.
func (s *Store) Close() error {
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.stmtMu.Unlock()
	_, cerr := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return errors.Join(cerr, s.r.Close(), s.w.Close())
}

// Begin starts a write transaction (BEGIN IMMEDIATE) on the writer connection, for the Tx forms.
func (s *Store) Begin(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("starting a database transaction: %w", err)
	}
	return tx, nil
}

// write runs fn in a write transaction and commits when fn returns nil.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing to %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) millis() int64 { return s.now().UnixMilli() }

// prepare returns a statement prepared once on db. On the single writer connection, a
// transaction reuses it (database/sql keeps statements per connection), which saves SQLite
// parsing the hot queue statements again for every segment.
func (s *Store) prepare(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if s.stmts == nil {
		s.stmts = map[stmtKey]*sql.Stmt{}
	}
	k := stmtKey{db, query}
	if st, ok := s.stmts[k]; ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts[k] = st
	return st, nil
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// txStmt is a statement bound to tx: one prepared at Open when query is one of the hot queue
// statements (preparing on the writer inside a transaction would wait for the connection the
// transaction holds), else prepared now for this transaction.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	st, ok := s.stmts[stmtKey{s.w, query}]
	s.stmtMu.Unlock()
	if ok {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}

// prepareHot prepares the statements run for every segment on the writer connection.
func (s *Store) prepareHot(ctx context.Context) error {
	for _, q := range hotStatements {
		if _, err := s.prepare(ctx, s.w, q); err != nil {
			return fmt.Errorf("preparing %q: %w", q, err)
		}
	}
	return nil
}

// txQueryRow runs a cached query in tx.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	st, err := s.txStmt(ctx, tx, query)
	if err != nil {
		return tx.QueryRowContext(ctx, query, args...) // reports the same error through Scan
	}
	return st.QueryRowContext(ctx, args...)
}

// txExec runs a cached statement in tx.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.txStmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// readRow runs a cached query on the read pool.
func (s *Store) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.prepare(ctx, s.r, query)
	if err != nil {
		return s.r.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// migrations[i] takes the schema from version i to version i+1.
var migrations = []string{
	// 1: the work: projects, chapters, segments, jobs, renders.
	`CREATE TABLE projects (
		id          INTEGER PRIMARY KEY,
		title       TEXT NOT NULL,
		source_path TEXT NOT NULL DEFAULT '',
		format      TEXT NOT NULL DEFAULT '',
		created_at  INTEGER NOT NULL
	) STRICT;
	CREATE TABLE chapters (
		id         INTEGER PRIMARY KEY,
		project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
		idx        INTEGER NOT NULL,
		title      TEXT NOT NULL DEFAULT '',
		UNIQUE (project_id, idx)
	) STRICT;
	CREATE TABLE jobs (
		id         INTEGER PRIMARY KEY,
		project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
		chapter_id INTEGER REFERENCES chapters(id) ON DELETE CASCADE,
		state      TEXT NOT NULL,
		priority   INTEGER NOT NULL DEFAULT 0,
		position   INTEGER NOT NULL,
		served     INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL
	) STRICT;
	CREATE INDEX jobs_state ON jobs (state);
	CREATE INDEX jobs_served ON jobs (served);
	CREATE TABLE renders (
		hash       TEXT PRIMARY KEY,
		path       TEXT NOT NULL,
		seconds    REAL NOT NULL,
		tokens     INTEGER NOT NULL,
		bytes      INTEGER NOT NULL,
		sha256     TEXT NOT NULL,
		created_at INTEGER NOT NULL
	) STRICT;
	CREATE TABLE segments (
		id          INTEGER PRIMARY KEY,
		chapter_id  INTEGER NOT NULL REFERENCES chapters(id) ON DELETE CASCADE,
		idx         INTEGER NOT NULL,
		source_text TEXT NOT NULL,
		spoken_text TEXT NOT NULL,
		spans       TEXT NOT NULL DEFAULT 'null',
		voice       TEXT NOT NULL,
		speed       REAL NOT NULL DEFAULT 1,
		seed        INTEGER NOT NULL DEFAULT 0,
		state       TEXT NOT NULL DEFAULT 'new',
		job_id      INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
		attempts    INTEGER NOT NULL DEFAULT 0,
		lease       TEXT NOT NULL DEFAULT '',
		not_before  INTEGER NOT NULL DEFAULT 0,
		render_hash TEXT NOT NULL DEFAULT '',
		error       TEXT NOT NULL DEFAULT '',
		seconds     REAL NOT NULL DEFAULT 0,
		UNIQUE (chapter_id, idx)
	) STRICT;
	CREATE INDEX segments_job ON segments (job_id, state, id);
	CREATE INDEX segments_state ON segments (state);`,
	// 2: the user's things: voices, lexicon, settings.
	`CREATE TABLE voices (
		id         TEXT PRIMARY KEY,
		name       TEXT NOT NULL,
		source     TEXT NOT NULL,
		clip_path  TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL
	) STRICT;
	CREATE TABLE lexicon (
		id         INTEGER PRIMARY KEY,
		project_id INTEGER REFERENCES projects(id) ON DELETE CASCADE,
		pattern    TEXT NOT NULL,
		spoken     TEXT NOT NULL,
		is_regex   INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL
	) STRICT;
	CREATE UNIQUE INDEX lexicon_pattern ON lexicon (coalesce(project_id, 0), pattern);
	CREATE TABLE settings (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	) STRICT;`,
	// 3: job counters kept by triggers, so reading a job's progress costs the same for a
	// chapter and for a whole book.
	`ALTER TABLE jobs ADD COLUMN n_total INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN n_queued INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN n_running INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN n_paused INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN n_done INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN n_failed INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN n_canceled INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN audio_seconds REAL NOT NULL DEFAULT 0;
	UPDATE jobs SET
		n_total = (SELECT count(*) FROM segments WHERE job_id = jobs.id),
		n_queued = (SELECT count(*) FROM segments WHERE job_id = jobs.id AND state = 'queued'),
		n_running = (SELECT count(*) FROM segments WHERE job_id = jobs.id AND state = 'running'),
		n_paused = (SELECT count(*) FROM segments WHERE job_id = jobs.id AND state = 'paused'),
		n_done = (SELECT count(*) FROM segments WHERE job_id = jobs.id AND state = 'done'),
		n_failed = (SELECT count(*) FROM segments WHERE job_id = jobs.id AND state = 'failed'),
		n_canceled = (SELECT count(*) FROM segments WHERE job_id = jobs.id AND state = 'canceled'),
		audio_seconds = (SELECT coalesce(sum(seconds), 0) FROM segments WHERE job_id = jobs.id AND state = 'done');
	CREATE TRIGGER segments_count_insert AFTER INSERT ON segments WHEN new.job_id IS NOT NULL BEGIN
		UPDATE jobs SET n_total = n_total + 1,
			n_queued = n_queued + (new.state = 'queued'), n_running = n_running + (new.state = 'running'),
			n_paused = n_paused + (new.state = 'paused'), n_done = n_done + (new.state = 'done'),
			n_failed = n_failed + (new.state = 'failed'), n_canceled = n_canceled + (new.state = 'canceled'),
			audio_seconds = audio_seconds + iif(new.state = 'done', new.seconds, 0)
		WHERE id = new.job_id;
	END;
	CREATE TRIGGER segments_count_delete AFTER DELETE ON segments WHEN old.job_id IS NOT NULL BEGIN
		UPDATE jobs SET n_total = n_total - 1,
			n_queued = n_queued - (old.state = 'queued'), n_running = n_running - (old.state = 'running'),
			n_paused = n_paused - (old.state = 'paused'), n_done = n_done - (old.state = 'done'),
			n_failed = n_failed - (old.state = 'failed'), n_canceled = n_canceled - (old.state = 'canceled'),
			audio_seconds = audio_seconds - iif(old.state = 'done', old.seconds, 0)
		WHERE id = old.job_id;
	END;
	CREATE TRIGGER segments_count_update AFTER UPDATE OF state, job_id, seconds ON segments
	WHEN old.state IS NOT new.state OR old.job_id IS NOT new.job_id OR old.seconds IS NOT new.seconds BEGIN
		UPDATE jobs SET n_total = n_total - 1,
			n_queued = n_queued - (old.state = 'queued'), n_running = n_running - (old.state = 'running'),
			n_paused = n_paused - (old.state = 'paused'), n_done = n_done - (old.state = 'done'),
			n_failed = n_failed - (old.state = 'failed'), n_canceled = n_canceled - (old.state = 'canceled'),
			audio_seconds = audio_seconds - iif(old.state = 'done', old.seconds, 0)
		WHERE id = old.job_id;
		UPDATE jobs SET n_total = n_total + 1,
			n_queued = n_queued + (new.state = 'queued'), n_running = n_running + (new.state = 'running'),
			n_paused = n_paused + (new.state = 'paused'), n_done = n_done + (new.state = 'done'),
			n_failed = n_failed + (new.state = 'failed'), n_canceled = n_canceled + (new.state = 'canceled'),
			audio_seconds = audio_seconds + iif(new.state = 'done', new.seconds, 0)
		WHERE id = new.job_id;
	END;
	DROP INDEX segments_state; -- every state change paid for it; only start-up recovery used it`,
	// 4: takes, the seeds a segment was rendered with, in order (n). A change of what or how it
	// reads (spoken text, voice, speed) makes them another sentence's takes: the trigger forgets
	// them, whichever statement made the change.
	`CREATE TABLE takes (
		segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
		n          INTEGER NOT NULL,
		seed       INTEGER NOT NULL,
		PRIMARY KEY (segment_id, seed),
		UNIQUE (segment_id, n)
	) STRICT;
	CREATE TRIGGER takes_forget_on_reading AFTER UPDATE OF spoken_text, voice, speed ON segments
	WHEN old.spoken_text IS NOT new.spoken_text OR old.voice IS NOT new.voice OR old.speed IS NOT new.speed BEGIN
		DELETE FROM takes WHERE segment_id = new.id;
	END;`,
}

// SchemaVersion is the schema version this code writes.
var SchemaVersion = len(migrations)

// migrate brings the schema to SchemaVersion, one transaction per step.
func (s *Store) migrate(ctx context.Context) error {
	return s.migrateTo(ctx, SchemaVersion)
}

func (s *Store) migrateTo(ctx context.Context, target int) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("opening database %s: %w (is it a VietTTS Studio database?)", s.path, err)
	}
	v, err := s.schemaVersion(ctx, s.w)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: %s has schema version %d, this version knows up to %d; install the newer version again or open another database", ErrNewerSchema, s.path, v, SchemaVersion)
	}
	for ; v < target; v++ {
		err := s.write(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrating %s to schema version %d: %w", s.path, v+1, err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM schema_version`); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, v+1)
			return err
		})
		if err != nil {
			return err
		}
		s.log.Info("database migrated", "path", s.path, "version", v+1)
	}
	return nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("reading the schema version of %s: %w", s.path, err)
	}
	return v, nil
}

// SchemaVersionOf returns the version of the open database.
func (s *Store) SchemaVersionOf(ctx context.Context) (int, error) { return s.schemaVersion(ctx, s.r) }

// Pragmas returns the connection settings in effect on the writer (journal_mode, foreign_keys,
// busy_timeout, synchronous), for doctor output and tests.
func (s *Store) Pragmas(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	for _, p := range []string{"journal_mode", "foreign_keys", "busy_timeout", "synchronous"} {
		var v string
		if err := conn.QueryRowContext(ctx, "PRAGMA "+p).Scan(&v); err != nil {
			return nil, fmt.Errorf("reading PRAGMA %s: %w", p, err)
		}
		out[p] = v
	}
	return out, nil
}

// IntegrityCheck runs SQLite's integrity and foreign key checks; it returns an error wrapping
// ErrCorrupt with SQLite's findings when they fail.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("checking %s: %w", s.path, err)
	}
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return err
		}
		if m != "ok" {
			msgs = append(msgs, m)
		}
	}
	rows.Close()
	fk, err := s.w.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("checking %s: %w", s.path, err)
	}
	for fk.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := fk.Scan(&table, &rowid, &parent, &fkid); err != nil {
			fk.Close()
			return err
		}
		msgs = append(msgs, fmt.Sprintf("row %d of %s points at a missing %s", rowid.Int64, table, parent))
	}
	fk.Close()
	if len(msgs) > 0 {
		return fmt.Errorf("%w: %s: %s; restore it from a backup or delete it to start over", ErrCorrupt, s.path, strings.Join(msgs, "; "))
	}
	return nil
}
