// Package download fetches the published VietTTS files over HTTP: resumable (an interrupted
// transfer continues from its ".part" file with an HTTP Range request), verified (sha256 against
// a known table, or against the hash the server publishes for Git LFS files), and never leaving a
// file under its final name unless it is complete and verified.
//
// Per file:
//
//	absent ──GET──► name.part (growing) ──complete + hash ok──► name
//	                   │  └─ connection lost ──retry with Range──┘
//	                   └─ hash mismatch ──► .part deleted, error (next run starts over)
package download

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/viettts-studio/studio/inference/ctxio"
)

// File is one file to fetch.
type File struct {
	// Name is the file name in the destination folder.
	Name string
	URL  string
	// Size is the expected size in bytes; 0 when unknown (the server's is used).
	Size int64
	// SHA256 is the expected sha256 (hex). When empty, the hash the server publishes for a Git
	// LFS file (X-Linked-Etag) is used, or, for a small file kept in git, its git blob id (ETag)
	// is checked instead.
	SHA256 string
}

// Sentinel errors for callers that branch.
var (
	// ErrCorrupt: the downloaded bytes do not match the expected size or hash.
	ErrCorrupt = errors.New("downloaded file is corrupt")
	// ErrHTTP: the server answered with an error status.
	ErrHTTP = errors.New("download failed")
)

// Progress is told the bytes done of the current file and its total (0 when unknown).
type Progress func(file string, done, total int64)

// Client downloads files. The zero value is usable.
type Client struct {
	// HTTP is the client to use; nil means a client without an overall timeout.
	HTTP *http.Client
	// Progress, when set, is called as bytes arrive (at most every 256 kB).
	Progress Progress
	// Retries is how many times a lost connection is resumed before giving up (default 5).
	Retries int
	// Backoff is the wait before the first retry, doubled each time (default 1 s).
	Backoff time.Duration
	Log     *slog.Logger
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{}
}

func (c *Client) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

// Result says what Fetch did.
type Result struct {
	Path   string
	Size   int64
	SHA256 string
	// Skipped is true when a verified copy was already there.
	Skipped bool
	// Resumed is the number of bytes that came from an earlier, interrupted transfer.
	Resumed int64
}

// remote is what the server says about a file before the transfer.
type remote struct {
	size    int64  // 0 if unknown
	sha256  string // from X-Linked-Etag (LFS), "" if none
	gitSHA1 string // from ETag when it is a git blob id, "" if none
}

// Fetch downloads f into dir (dir/f.Name), resuming dir/f.Name.part if present. A file already in
// dir with the expected hash is kept without downloading.
func (c *Client) Fetch(ctx context.Context, f File, dir string) (Result, error) {
	if f.Name == "" || !filepath.IsLocal(f.Name) {
		return Result{}, fmt.Errorf("download: bad file name %q", f.Name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, fmt.Errorf("cannot create the download folder %s: %w", dir, err)
	}
	final := filepath.Join(dir, f.Name)
	part := final + ".part"
	rem, err := c.probe(ctx, f)
	if err != nil {
		return Result{}, err
	}
	want := strings.ToLower(f.SHA256)
	if want != "" && rem.sha256 != "" && rem.sha256 != want {
		return Result{}, fmt.Errorf("%w: %s: the server publishes sha256 %s but this version of VietTTS Studio expects %s: the publisher changed the file; update VietTTS Studio or install from a folder with `model install --from`",
			ErrCorrupt, f.Name, rem.sha256, want)
	}
	if want == "" {
		want = rem.sha256
	}
	size := f.Size
	if size == 0 {
		size = rem.size
	}
	if st, err := os.Stat(final); err == nil && st.Mode().IsRegular() {
		if ok, sum := c.matches(ctx, final, st.Size(), size, want, rem.gitSHA1); ok {
			return Result{Path: final, Size: st.Size(), SHA256: sum, Skipped: true}, nil
		}
		c.log().Info("download: existing file does not match, fetching again", "file", f.Name)
	}
	var res Result
	backoff := c.Backoff
	if backoff == 0 {
		backoff = time.Second
	}
	retries := c.Retries
	if retries == 0 {
		retries = 5
	}
	for attempt := 0; ; attempt++ {
		var resumed int64
		resumed, err = c.transfer(ctx, f, part, size)
		if attempt == 0 {
			res.Resumed = resumed
		}
		if err == nil {
			break
		}
		var perm *permanentError
		if ctx.Err() != nil || errors.As(err, &perm) || attempt >= retries {
			if perm != nil {
				return Result{}, perm.err
			}
			return Result{}, err
		}
		c.log().Warn("download interrupted, resuming", "file", f.Name, "attempt", attempt+1, "err", err)
		select {
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	st, err := os.Stat(part)
	if err != nil {
		return Result{}, err
	}
	ok, sum := c.matches(ctx, part, st.Size(), size, want, rem.gitSHA1)
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	if !ok {
		os.Remove(part)
		exp := want
		if exp == "" {
			exp = "git blob " + rem.gitSHA1
		}
		return Result{}, fmt.Errorf("%w: %s (%d bytes, sha256 %s) does not match the expected file (%d bytes, %s); it was deleted: run the download again, and if it keeps failing check your network or proxy",
			ErrCorrupt, f.Name, st.Size(), sum, size, exp)
	}
	if err := syncFile(part); err != nil {
		return Result{}, err
	}
	if err := os.Rename(part, final); err != nil {
		return Result{}, fmt.Errorf("cannot move %s into place: %w", part, err)
	}
	res.Path, res.Size, res.SHA256 = final, st.Size(), sum
	return res, nil
}

// matches hashes the file at path and compares it with what is expected. Without any expected
// hash it accepts a file of the expected size (and says so in the log).
func (c *Client) matches(ctx context.Context, path string, got, size int64, want, gitSHA1 string) (bool, string) {
	if size > 0 && got != size {
		return false, ""
	}
	f, err := os.Open(path)
	if err != nil {
		return false, ""
	}
	defer f.Close()
	h256 := sha256.New()
	var hs []io.Writer = []io.Writer{h256}
	var h1 hash.Hash
	if gitSHA1 != "" {
		h1 = sha1.New()
		fmt.Fprintf(h1, "blob %d\x00", got)
		hs = append(hs, h1)
	}
	if _, err := ctxio.Copy(ctx, io.MultiWriter(hs...), f, copyChunk, nil); err != nil {
		return false, ""
	}
	sum := hex.EncodeToString(h256.Sum(nil))
	switch {
	case want != "":
		return sum == want, sum
	case h1 != nil:
		return hex.EncodeToString(h1.Sum(nil)) == gitSHA1, sum
	}
	c.log().Warn("download: no hash known for this file; accepted by size only", "file", filepath.Base(path), "sha256", sum)
	return size > 0, sum
}

// probe asks the server (HEAD, redirects not followed) for the size and published hashes.
func (c *Client) probe(ctx context.Context, f File) (remote, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, f.URL, nil)
	if err != nil {
		return remote{}, fmt.Errorf("download %s: %w", f.Name, err)
	}
	hc := *c.http()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return remote{}, fmt.Errorf("%w: cannot reach %s: %v (check the network, a proxy, or HF_ENDPOINT)", ErrHTTP, hostOf(f.URL), err)
	}
	resp.Body.Close()
	var r remote
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 400:
	case resp.StatusCode == http.StatusMethodNotAllowed:
		return r, nil // no HEAD: learn the size from the GET
	default:
		return r, statusError(f, resp)
	}
	if v := unquote(resp.Header.Get("X-Linked-Etag")); isHex(v, 64) {
		r.sha256 = strings.ToLower(v)
	}
	if n, err := strconv.ParseInt(resp.Header.Get("X-Linked-Size"), 10, 64); err == nil && n > 0 {
		r.size = n
	}
	if resp.StatusCode < 300 {
		if r.size == 0 && resp.ContentLength > 0 {
			r.size = resp.ContentLength
		}
		// Hugging Face's ETag for a file kept in git is its git blob id. Other ETags (CDNs,
		// GitHub raw) are opaque and never taken for a content hash.
		if v := unquote(resp.Header.Get("ETag")); isHex(v, 40) && r.sha256 == "" {
			r.gitSHA1 = strings.ToLower(v)
		}
	}
	return r, nil
}

// permanentError stops the retry loop.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }

// transfer appends the rest of the file to part. It returns how many bytes were already there.
func (c *Client) transfer(ctx context.Context, f File, part string, size int64) (int64, error) {
	out, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, &permanentError{fmt.Errorf("cannot write %s: %w", part, err)}
	}
	defer out.Close()
	have, err := out.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, &permanentError{err}
	}
	if size > 0 && have > size {
		if err := out.Truncate(0); err != nil {
			return 0, &permanentError{err}
		}
		have, _ = out.Seek(0, io.SeekStart)
	}
	if size > 0 && have == size {
		return have, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return have, &permanentError{err}
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return have, fmt.Errorf("cannot reach %s: %w", hostOf(f.URL), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, ok := rangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return have, &permanentError{fmt.Errorf("%w: %s: the server resumed at %q, not at byte %d", ErrHTTP, f.Name, resp.Header.Get("Content-Range"), have)}
		}
	case resp.StatusCode == http.StatusOK:
		if have > 0 {
			c.log().Info("download: server does not resume, starting over", "file", f.Name)
		}
		if err := out.Truncate(0); err != nil {
			return 0, &permanentError{err}
		}
		if _, err := out.Seek(0, io.SeekStart); err != nil {
			return 0, &permanentError{err}
		}
		have = 0
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// The part file is as long as the server's file (or longer): let the hash decide.
		return have, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return have, statusError(f, resp)
	default:
		return have, &permanentError{statusError(f, resp)}
	}
	total := size
	if total == 0 && resp.ContentLength > 0 {
		total = have + resp.ContentLength
	}
	done := have
	last := int64(-1 << 62)
	pw := progressWriter{w: out, fn: func(n int64) {
		done += n
		if c.Progress != nil && (done-last >= 256<<10 || (total > 0 && done == total)) {
			last = done
			c.Progress(f.Name, done, total)
		}
	}}
	if c.Progress != nil {
		c.Progress(f.Name, done, total)
	}
	if _, err := ctxio.Copy(ctx, &pw, resp.Body, copyChunk, nil); err != nil {
		if ctx.Err() != nil {
			return have, ctx.Err()
		}
		return have, fmt.Errorf("transfer of %s broke off at %d bytes: %w", f.Name, done, err)
	}
	if total > 0 && done < total {
		return have, fmt.Errorf("transfer of %s ended at %d of %d bytes", f.Name, done, total)
	}
	return have, nil
}

type progressWriter struct {
	w  io.Writer
	fn func(int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.fn(int64(n))
	return n, err
}

func statusError(f File, resp *http.Response) error {
	hint := ""
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		hint = ": the server refused access (a gated repository or a proxy)"
	case http.StatusNotFound:
		hint = ": the file is not there (has the publisher moved it? check HF_ENDPOINT)"
	}
	return fmt.Errorf("%w: %s: %s answered %s%s", ErrHTTP, f.Name, hostOf(f.URL), resp.Status, hint)
}

func rangeStart(cr string) (int64, bool) {
	// "bytes START-END/TOTAL"
	s, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(s, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	return n, err == nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func unquote(s string) string {
	s = strings.TrimPrefix(s, "W/")
	return strings.Trim(s, `"`)
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func hostOf(u string) string {
	s := u
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}

// copyChunk is how much a copy moves between checks of its context.
const copyChunk = 1 << 20
