//go:build cgo && !nolame

package export

/*
#cgo LDFLAGS: -lmp3lame
#include <stdlib.h>
#include <lame/lame.h>

static lame_t vt_lame_open(int rate, int kbps, int quality) {
	lame_t gf = lame_init();
	if (gf == NULL) return NULL;
	lame_set_in_samplerate(gf, rate);
	lame_set_out_samplerate(gf, rate);
	lame_set_num_channels(gf, 1);
	lame_set_mode(gf, MONO);
	lame_set_VBR(gf, vbr_off);
	lame_set_brate(gf, kbps);
	lame_set_quality(gf, quality);
	lame_set_bWriteVbrTag(gf, 1); // the LAME tag: frame count, encoder delay and padding
	if (lame_init_params(gf) < 0) {
		lame_close(gf);
		return NULL;
	}
	return gf;
}
*/
import "C"

import (
	"fmt"
	"io"
	"unsafe"
)

// lameBuilt says libmp3lame is compiled in: MP3 is encoded in-process unless a test asks for ffmpeg.
const lameBuilt = true

// lameEncoder encodes mono float PCM to CBR MP3 frames with libmp3lame.
type lameEncoder struct {
	gf  C.lame_t
	w   io.Writer
	buf []byte
	// lametag replaces the empty first frame once encoding is done: with it, decoders know the
	// exact length and drop the encoder's delay and padding (gapless), so chapter and subtitle
	// times line up with the decoded audio.
	lametag []byte
}

func newMP3Encoder(w io.Writer, rate, kbps int) (*lameEncoder, error) {
	gf := C.vt_lame_open(C.int(rate), C.int(kbps), 5)
	if gf == nil {
		return nil, fmt.Errorf("libmp3lame refused %d Hz at %d kbps: pick another bitrate", rate, kbps)
	}
	return &lameEncoder{gf: gf, w: w}, nil
}

func (e *lameEncoder) Write(p []float32) error {
	for len(p) > 0 {
		n := min(len(p), 8192)
		need := n*5/4 + 7200
		if cap(e.buf) < need {
			e.buf = make([]byte, need)
		}
		buf := e.buf[:need]
		pcm := (*C.float)(unsafe.Pointer(&p[0]))
		got := C.lame_encode_buffer_ieee_float(e.gf, pcm, pcm, C.int(n), (*C.uchar)(unsafe.Pointer(&buf[0])), C.int(need))
		if got < 0 {
			return fmt.Errorf("libmp3lame failed to encode (code %d)", int(got))
		}
		if _, err := e.w.Write(buf[:got]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func (e *lameEncoder) Close() error {
	if e.gf == nil {
		return nil
	}
	buf := make([]byte, 7200)
	got := C.lame_encode_flush(e.gf, (*C.uchar)(unsafe.Pointer(&buf[0])), C.int(len(buf)))
	if got >= 0 {
		tag := make([]byte, 2880) // the largest MPEG-1 layer III frame at 320 kbps is 1441 bytes
		if n := C.lame_get_lametag_frame(e.gf, (*C.uchar)(unsafe.Pointer(&tag[0])), C.size_t(len(tag))); n > 0 && int(n) <= len(tag) {
			e.lametag = tag[:n]
		}
	}
	C.lame_close(e.gf)
	e.gf = nil
	if got < 0 {
		return fmt.Errorf("libmp3lame failed to finish the file (code %d)", int(got))
	}
	_, err := e.w.Write(buf[:got])
	return err
}
