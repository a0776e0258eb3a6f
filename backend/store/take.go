package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// A take is one rendering of a segment with one seed. VietTTS samples every sentence, so the same
// text, voice and speed read with another seed sound different (a word said better, another
// melody); the narrator renders a sentence again with a new seed and keeps the better take. The
// takes of a segment are its seeds in the order they were tried; the audio of each is the render
// for (model, voice, text, speed, seed, pipeline), which stays in the render cache (nothing
// collects renders), so going back to an earlier take costs no synthesis.
//
// Takes belong to one reading of the sentence: a change of its spoken text, voice or speed
// forgets them (a trigger does it, whichever statement made the change).

// MaxTakes is how many takes a segment keeps; a new take beyond it drops the oldest (never the
// take it replaces).
const MaxTakes = 10

// ErrNotATake means the seed asked for is not one of the segment's takes (it was never tried, or
// its text, voice or speed changed since).
var ErrNotATake = errors.New("not a take of this sentence")

// Takes is a segment's takes: Seeds in the order they were tried, and Current, the seed it reads
// with now (always one of Seeds).
type Takes struct {
	SegmentID int64
	Seeds     []uint64
	Current   uint64
}

// Index is the position of the current take in Seeds.
func (t Takes) Index() int { return slices.Index(t.Seeds, t.Current) }

// Takes returns a segment's takes. A segment never rendered again has one take, its seed.
func (s *Store) Takes(ctx context.Context, segmentID int64) (Takes, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Takes{}, fmt.Errorf("reading the takes of segment %d: %w", segmentID, err)
	}
	defer tx.Rollback()
	return takesOf(ctx, tx, segmentID)
}

type queryRower interface {
	queryer
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func takesOf(ctx context.Context, q queryRower, segmentID int64) (Takes, error) {
	out := Takes{SegmentID: segmentID}
	var cur int64
	err := q.QueryRowContext(ctx, `SELECT seed FROM segments WHERE id = ?`, segmentID).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return out, fmt.Errorf("segment %d: %w", segmentID, ErrNotFound)
	}
	if err != nil {
		return out, fmt.Errorf("reading the takes of segment %d: %w", segmentID, err)
	}
	out.Current = uint64(cur)
	seeds, err := queryInts(ctx, q, `SELECT seed FROM takes WHERE segment_id = ? ORDER BY n`, segmentID)
	if err != nil {
		return out, fmt.Errorf("reading the takes of segment %d: %w", segmentID, err)
	}
	for _, sd := range seeds {
		out.Seeds = append(out.Seeds, uint64(sd))
	}
	if !slices.Contains(out.Seeds, out.Current) {
		out.Seeds = append(out.Seeds, out.Current)
	}
	return out, nil
}

// NewTake gives a segment a new take: a seed from next that the segment has not been tried with
// (next is called again for one already tried), kept after the current one in its takes. The
// segment becomes new and leaves its job, like an edit; a running synthesis of the old seed is
// returned for the caller to interrupt (its lease is void). Queue the segment again with an
// (interactive) job.
func (s *Store) NewTake(ctx context.Context, segmentID int64, next func() uint64) (seed uint64, running []Running, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		seed, running, err = s.NewTakeTx(ctx, tx, segmentID, next)
		return err
	})
	return seed, running, err
}

// NewTakeTx is NewTake inside tx.
func (s *Store) NewTakeTx(ctx context.Context, tx *sql.Tx, segmentID int64, next func() uint64) (uint64, []Running, error) {
	t, err := takesOf(ctx, tx, segmentID)
	if err != nil {
		return 0, nil, err
	}
	seed, fresh := uint64(0), false
	for range 64 {
		if seed = next(); !slices.Contains(t.Seeds, seed) {
			fresh = true
			break
		}
	}
	if !fresh {
		return 0, nil, fmt.Errorf("segment %d: no new seed after 64 tries (the seed source repeats itself)", segmentID)
	}
	// The list as stored: the current take is written on the first new take.
	list := append(slices.Clone(t.Seeds), seed)
	if _, err := tx.ExecContext(ctx, `DELETE FROM takes WHERE segment_id = ?`, segmentID); err != nil {
		return 0, nil, err
	}
	for len(list) > MaxTakes {
		// drop the oldest that is neither the new take nor the one it replaces
		i := slices.IndexFunc(list, func(sd uint64) bool { return sd != seed && sd != t.Current })
		list = slices.Delete(list, i, i+1)
	}
	for n, sd := range list {
		if _, err := tx.ExecContext(ctx, `INSERT INTO takes (segment_id, n, seed) VALUES (?, ?, ?)`, segmentID, n+1, int64(sd)); err != nil {
			return 0, nil, fmt.Errorf("storing take %d of segment %d: %w", n+1, segmentID, err)
		}
	}
	running, err := s.reseedTx(ctx, tx, segmentID, seed, nil)
	return seed, running, err
}

// UseTake makes an earlier take the current one. When hash (the render key of the segment with
// that seed) is a render row, the segment is done at once with that render and UseTake returns
// true: no synthesis. Otherwise the segment becomes new, like an edit, and the caller queues it.
// A running synthesis of another take is returned for the caller to interrupt. A seed that is not
// one of the segment's takes fails with ErrNotATake.
func (s *Store) UseTake(ctx context.Context, segmentID int64, seed uint64, hash string) (done bool, running []Running, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		done, running, err = s.UseTakeTx(ctx, tx, segmentID, seed, hash)
		return err
	})
	return done, running, err
}

// UseTakeTx is UseTake inside tx.
func (s *Store) UseTakeTx(ctx context.Context, tx *sql.Tx, segmentID int64, seed uint64, hash string) (bool, []Running, error) {
	t, err := takesOf(ctx, tx, segmentID)
	if err != nil {
		return false, nil, err
	}
	if !slices.Contains(t.Seeds, seed) {
		return false, nil, fmt.Errorf("seed %d of segment %d: %w; make a new take instead", seed, segmentID, ErrNotATake)
	}
	var r *Render
	if hash != "" {
		var rr Render
		err := tx.QueryRowContext(ctx, `SELECT hash, path, seconds, tokens, bytes, sha256 FROM renders WHERE hash = ?`, hash).
			Scan(&rr.Hash, &rr.Path, &rr.Seconds, &rr.Tokens, &rr.Bytes, &rr.SHA256)
		switch {
		case err == nil:
			r = &rr
		case !errors.Is(err, sql.ErrNoRows):
			return false, nil, fmt.Errorf("reading render %s: %w", hash, err)
		}
	}
	running, err := s.reseedTx(ctx, tx, segmentID, seed, r)
	return r != nil, running, err
}

// reseedTx gives a segment another seed: done with r when r is its render, else new and out of
// its job. A running synthesis is returned; its lease is void either way.
func (s *Store) reseedTx(ctx context.Context, tx *sql.Tx, segmentID int64, seed uint64, r *Render) ([]Running, error) {
	running, err := s.runningOf(ctx, tx, `id = ?`, segmentID)
	if err != nil {
		return nil, err
	}
	var jobID sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT job_id FROM segments WHERE id = ?`, segmentID).Scan(&jobID); err != nil {
		return nil, err
	}
	if r != nil {
		// A job that was rendering another take finishes with this one.
		_, err = tx.ExecContext(ctx, `UPDATE segments SET seed = ?, state = 'done', lease = '', render_hash = ?, seconds = ?,
			error = '', attempts = 0, not_before = 0 WHERE id = ?`, int64(seed), r.Hash, r.Seconds, segmentID)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE segments SET seed = ?, state = 'new', job_id = NULL, lease = '',
			render_hash = '', seconds = 0, error = '', attempts = 0, not_before = 0 WHERE id = ?`, int64(seed), segmentID)
	}
	if err != nil {
		return nil, fmt.Errorf("changing the seed of segment %d: %w", segmentID, err)
	}
	if jobID.Valid {
		if _, err := s.refreshJob(ctx, tx, jobID.Int64); err != nil {
			return nil, err
		}
	}
	return running, nil
}
