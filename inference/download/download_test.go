package download

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hub is a local stand-in for Hugging Face: /{repo}/resolve/main/{name} answers HEAD with a
// redirect carrying X-Linked-Etag/X-Linked-Size for LFS files (and an ETag git blob id for the
// others), and GET is redirected to /cdn/{name}, which honours Range.
type hub struct {
	mu      sync.Mutex
	files   map[string][]byte // what /cdn serves
	lfs     map[string]bool
	claimed map[string]string // sha256 the hub publishes, when it differs from the content
	cutOnce map[string]int    // cut the next transfer of name after this many bytes
	noRange bool
	ranges  []string // Range headers seen by /cdn
	gets    int
}

func newHub(t *testing.T) (*hub, *httptest.Server) {
	h := &hub{files: map[string][]byte{}, lfs: map[string]bool{}, claimed: map[string]string{}, cutOnce: map[string]int{}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func sum256(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func gitBlob(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if name, ok := strings.CutPrefix(r.URL.Path, "/"+Repo+"/resolve/main/"); ok {
		data, ok := h.files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if h.lfs[name] {
			sha := sum256(data)
			if c, ok := h.claimed[name]; ok {
				sha = c
			}
			w.Header().Set("X-Linked-Etag", `"`+sha+`"`)
			w.Header().Set("X-Linked-Size", fmt.Sprint(len(data)))
			http.Redirect(w, r, "/cdn/"+name, http.StatusFound)
			return
		}
		w.Header().Set("ETag", `"`+gitBlob(data)+`"`)
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			return
		}
		h.serve(w, r, name, data)
		return
	}
	if name, ok := strings.CutPrefix(r.URL.Path, "/cdn/"); ok {
		h.serve(w, r, name, h.files[name])
		return
	}
	http.NotFound(w, r)
}

func (h *hub) serve(w http.ResponseWriter, r *http.Request, name string, data []byte) {
	if r.Method == http.MethodGet {
		h.gets++
		h.ranges = append(h.ranges, r.Header.Get("Range"))
	}
	if h.noRange {
		r.Header.Del("Range")
	}
	var out http.ResponseWriter = w
	if n, ok := h.cutOnce[name]; ok && r.Method == http.MethodGet {
		delete(h.cutOnce, name)
		out = &cutter{ResponseWriter: w, left: n}
	}
	http.ServeContent(out, r, name, time.Time{}, bytes.NewReader(data))
}

// cutter drops the connection after left bytes of body, like a network failure.
type cutter struct {
	http.ResponseWriter
	left int
}

func (c *cutter) Write(b []byte) (int, error) {
	if len(b) > c.left {
		c.ResponseWriter.Write(b[:c.left])
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	c.left -= len(b)
	return c.ResponseWriter.Write(b)
}

func payload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func fileURL(srv *httptest.Server, name string) string {
	return srv.URL + "/" + Repo + "/resolve/main/" + name
}

func client() *Client { return &Client{Backoff: time.Millisecond} }

func TestFetchesAnLFSFileVerifiedByThePublishedHash(t *testing.T) {
	h, srv := newHub(t)
	data := payload(3<<20, 1)
	h.files["llm.pt"], h.lfs["llm.pt"] = data, true
	dir := t.TempDir()
	var calls int
	c := client()
	c.Progress = func(file string, done, total int64) {
		calls++
		if file != "llm.pt" || total != int64(len(data)) || done > total {
			t.Errorf("progress %s %d/%d", file, done, total)
		}
	}
	res, err := c.Fetch(t.Context(), File{Name: "llm.pt", URL: fileURL(srv, "llm.pt")}, dir)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "llm.pt"))
	if !bytes.Equal(got, data) || res.SHA256 != sum256(data) || res.Skipped {
		t.Fatalf("result %+v", res)
	}
	if calls < 2 {
		t.Fatalf("progress called %d times", calls)
	}
	if _, err := os.Stat(filepath.Join(dir, "llm.pt.part")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal(".part left behind")
	}
}

func TestAnInterruptedTransferResumesWithARange(t *testing.T) {
	h, srv := newHub(t)
	data := payload(2<<20, 2)
	h.files["flow.pt"], h.lfs["flow.pt"] = data, true
	h.cutOnce["flow.pt"] = 700_000
	dir := t.TempDir()
	res, err := client().Fetch(t.Context(), File{Name: "flow.pt", URL: fileURL(srv, "flow.pt"), SHA256: sum256(data)}, dir)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(res.Path)
	if !bytes.Equal(got, data) {
		t.Fatal("resumed file differs")
	}
	if len(h.ranges) != 2 || h.ranges[0] != "" || !strings.HasPrefix(h.ranges[1], "bytes=") || h.ranges[1] == "bytes=0-" {
		t.Fatalf("requests %q, want a full GET then a ranged one", h.ranges)
	}
}

func TestAPartFileFromAnEarlierRunIsResumed(t *testing.T) {
	h, srv := newHub(t)
	data := payload(1<<20, 3)
	h.files["hift.pt"], h.lfs["hift.pt"] = data, true
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hift.pt.part"), data[:12345], 0o644)
	res, err := client().Fetch(t.Context(), File{Name: "hift.pt", URL: fileURL(srv, "hift.pt")}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 12345 || len(h.ranges) != 1 || h.ranges[0] != "bytes=12345-" {
		t.Fatalf("resumed %d, ranges %q", res.Resumed, h.ranges)
	}
	got, _ := os.ReadFile(res.Path)
	if !bytes.Equal(got, data) {
		t.Fatal("file differs")
	}
}

func TestAServerWithoutRangesStartsOver(t *testing.T) {
	h, srv := newHub(t)
	data := payload(500_000, 4)
	h.files["hift.pt"], h.lfs["hift.pt"], h.noRange = data, true, true
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hift.pt.part"), data[:1000], 0o644)
	res, err := client().Fetch(t.Context(), File{Name: "hift.pt", URL: fileURL(srv, "hift.pt")}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(res.Path); !bytes.Equal(got, data) {
		t.Fatal("file differs")
	}
}

func TestACorruptedDownloadIsRejectedAndDeleted(t *testing.T) {
	h, srv := newHub(t)
	data := payload(300_000, 5)
	bad := bytes.Clone(data)
	bad[1000] ^= 1
	h.files["llm.pt"], h.lfs["llm.pt"], h.claimed["llm.pt"] = bad, true, sum256(data)
	dir := t.TempDir()
	_, err := client().Fetch(t.Context(), File{Name: "llm.pt", URL: fileURL(srv, "llm.pt")}, dir)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "llm.pt") || !strings.Contains(err.Error(), "run the download again") {
		t.Fatalf("got %v", err)
	}
	for _, name := range []string{"llm.pt", "llm.pt.part"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s left behind", name)
		}
	}
}

func TestAPublishedHashThatDiffersFromTheTableStopsBeforeDownloading(t *testing.T) {
	h, srv := newHub(t)
	h.files["llm.pt"], h.lfs["llm.pt"] = payload(1000, 6), true
	_, err := client().Fetch(t.Context(), File{Name: "llm.pt", URL: fileURL(srv, "llm.pt"), SHA256: strings.Repeat("ab", 32)}, t.TempDir())
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "publisher changed the file") {
		t.Fatalf("got %v", err)
	}
	if h.gets != 0 {
		t.Fatalf("%d GETs made", h.gets)
	}
}

func TestAVerifiedFileIsNotDownloadedAgain(t *testing.T) {
	h, srv := newHub(t)
	data := payload(1000, 7)
	h.files["flow.pt"], h.lfs["flow.pt"] = data, true
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "flow.pt"), data, 0o644)
	res, err := client().Fetch(t.Context(), File{Name: "flow.pt", URL: fileURL(srv, "flow.pt")}, dir)
	if err != nil || !res.Skipped || h.gets != 0 {
		t.Fatalf("res %+v, err %v, gets %d", res, err, h.gets)
	}
}

func TestAGitFileIsCheckedAgainstItsBlobID(t *testing.T) {
	h, srv := newHub(t)
	h.files["config.yaml"] = []byte("sample_rate: 22050\n")
	dir := t.TempDir()
	res, err := client().Fetch(t.Context(), File{Name: "config.yaml", URL: fileURL(srv, "config.yaml")}, dir)
	if err != nil || res.Size != 19 {
		t.Fatalf("res %+v, err %v", res, err)
	}
	// A file on disk that differs from the blob is fetched again, not trusted.
	os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("sample_rate: 16000\n"), 0o644)
	res, err = client().Fetch(t.Context(), File{Name: "config.yaml", URL: fileURL(srv, "config.yaml")}, dir)
	if err != nil || res.Skipped {
		t.Fatalf("res %+v, err %v", res, err)
	}
	if got, _ := os.ReadFile(res.Path); string(got) != "sample_rate: 22050\n" {
		t.Fatalf("config.yaml holds %q", got)
	}
}

func TestMissingFilesSayWhere(t *testing.T) {
	_, srv := newHub(t)
	_, err := client().Fetch(t.Context(), File{Name: "hift.pt", URL: fileURL(srv, "hift.pt")}, t.TempDir())
	if !errors.Is(err, ErrHTTP) || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "HF_ENDPOINT") {
		t.Fatalf("got %v", err)
	}
}

func TestOfficialURLsFollowTheEndpoint(t *testing.T) {
	files := Official("http://mirror.local/", "")
	if files[1].URL != "http://mirror.local/dangvansam/viet-tts/resolve/main/llm.pt" || files[1].SHA256 == "" {
		t.Fatalf("llm.pt entry %+v", files[1])
	}
	if last := files[len(files)-1]; last.Name != "multilingual.tiktoken" || last.URL != DefaultTokenizerURL {
		t.Fatalf("tokenizer entry %+v", last)
	}
}

// FuzzServerHeaders feeds arbitrary Content-Range and ETag values (the server is untrusted).
func FuzzServerHeaders(f *testing.F) {
	f.Add("bytes 100-199/200", `"c1773e5afe16a88ee82e33cf510a07717ce1346d2e74856733d72dc297a9a017"`)
	f.Add("bytes -5/x", `W/"abc"`)
	f.Fuzz(func(t *testing.T, cr, etag string) {
		if n, ok := rangeStart(cr); ok && !strings.HasPrefix(cr, "bytes ") {
			t.Fatalf("accepted %q as start %d", cr, n)
		}
		v := unquote(etag)
		if isHex(v, 64) && len(v) != 64 {
			t.Fatal("isHex accepted a wrong length")
		}
	})
}
