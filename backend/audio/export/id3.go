package export

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// id3Chapter is one chapter of an ID3v2 chapter list (ID3v2 Chapter Frame Addendum 1.0).
type id3Chapter struct {
	Title     string
	StartMS   uint32
	EndMS     uint32
	elementID string
}

// id3Tag is what VietTTS Studio writes at the start of an MP3: ID3v2.4, UTF-8 text.
type id3Tag struct {
	Title    string
	Album    string
	Author   string
	Narrator string
	Track    string // "n/total" when a book is split per chapter
	Cover    []byte
	Chapters []id3Chapter
}

// synchsafe encodes n in four 7-bit bytes, as ID3v2.4 sizes are.
func synchsafe(n int) ([4]byte, error) {
	if n >= 1<<28 {
		return [4]byte{}, fmt.Errorf("ID3 frame of %d bytes is larger than ID3v2 allows (256 MB)", n)
	}
	return [4]byte{byte(n >> 21 & 0x7f), byte(n >> 14 & 0x7f), byte(n >> 7 & 0x7f), byte(n & 0x7f)}, nil
}

func id3Frame(id string, body []byte) ([]byte, error) {
	size, err := synchsafe(len(body))
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 10+len(body))
	out = append(out, id...)
	out = append(out, size[:]...)
	out = append(out, 0, 0) // no flags
	return append(out, body...), nil
}

// id3Text is a text information frame in UTF-8 (encoding byte 3).
func id3Text(id, text string) ([]byte, error) {
	return id3Frame(id, append([]byte{3}, text...))
}

// id3UserText is a TXXX frame: description and value, UTF-8.
func id3UserText(desc, value string) ([]byte, error) {
	b := append([]byte{3}, desc...)
	b = append(b, 0)
	return id3Frame("TXXX", append(b, value...))
}

// Bytes renders the tag.
func (t id3Tag) Bytes() ([]byte, error) {
	var frames bytes.Buffer
	add := func(b []byte, err error) error {
		if err != nil {
			return err
		}
		frames.Write(b)
		return nil
	}
	texts := []struct{ id, v string }{
		{"TIT2", t.Title}, {"TALB", t.Album}, {"TPE1", t.Author}, {"TCOM", t.Narrator}, {"TRCK", t.Track},
	}
	for _, tx := range texts {
		if tx.v == "" {
			continue
		}
		if err := add(id3Text(tx.id, tx.v)); err != nil {
			return nil, err
		}
	}
	if err := add(id3Text("TCON", "Audiobook")); err != nil {
		return nil, err
	}
	if t.Narrator != "" {
		// TCOM is where audiobook players (Audiobookshelf, Smart AudioBook Player) look for the
		// narrator; TXXX:NARRATOR says it without overloading "composer".
		if err := add(id3UserText("NARRATOR", t.Narrator)); err != nil {
			return nil, err
		}
	}
	if len(t.Cover) > 0 {
		mime, err := imageMIME(t.Cover)
		if err != nil {
			return nil, err
		}
		b := append([]byte{3}, mime...)
		b = append(b, 0, 3, 0) // picture type 3: front cover; empty description
		if err := add(id3Frame("APIC", append(b, t.Cover...))); err != nil {
			return nil, err
		}
	}
	if len(t.Chapters) > 0 {
		if err := t.chapterFrames(add); err != nil {
			return nil, err
		}
	}
	size, err := synchsafe(frames.Len())
	if err != nil {
		return nil, err
	}
	out := append([]byte("ID3\x04\x00\x00"), size[:]...)
	return append(out, frames.Bytes()...), nil
}

// chapterFrames writes one CHAP frame per chapter and a CTOC table of contents. A CTOC lists at
// most 255 children, so longer books get a top-level CTOC of sub-tables.
func (t id3Tag) chapterFrames(add func([]byte, error) error) error {
	var ids []string
	for i, c := range t.Chapters {
		id := fmt.Sprintf("ch%d", i)
		t.Chapters[i].elementID = id
		ids = append(ids, id)
		b := append([]byte(id), 0)
		b = binary.BigEndian.AppendUint32(b, c.StartMS)
		b = binary.BigEndian.AppendUint32(b, c.EndMS)
		b = binary.BigEndian.AppendUint32(b, 0xFFFFFFFF) // byte offsets unused: times rule
		b = binary.BigEndian.AppendUint32(b, 0xFFFFFFFF)
		sub, err := id3Text("TIT2", c.Title)
		if err != nil {
			return err
		}
		if err := add(id3Frame("CHAP", append(b, sub...))); err != nil {
			return err
		}
	}
	ctoc := func(id string, top bool, children []string) error {
		flags := byte(0x01) // ordered
		if top {
			flags |= 0x02
		}
		b := append([]byte(id), 0, flags, byte(len(children)))
		for _, c := range children {
			b = append(append(b, c...), 0)
		}
		return add(id3Frame("CTOC", b))
	}
	if len(ids) <= 255 {
		return ctoc("toc", true, ids)
	}
	var subs []string
	for i := 0; i < len(ids); i += 255 {
		id := fmt.Sprintf("toc%d", len(subs)+1)
		subs = append(subs, id)
		if err := ctoc(id, false, ids[i:min(i+255, len(ids))]); err != nil {
			return err
		}
	}
	if len(subs) > 255 {
		return fmt.Errorf("%d chapters are more than an MP3 chapter table can hold (65025): export per chapter", len(ids))
	}
	return ctoc("toc", true, subs)
}

// imageMIME recognises the cover formats players show.
func imageMIME(b []byte) (string, error) {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg", nil
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png", nil
	}
	return "", fmt.Errorf("the cover is neither JPEG nor PNG: convert it to one of these")
}
