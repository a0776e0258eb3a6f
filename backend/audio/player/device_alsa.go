//go:build linux && cgo

package player

/*
#cgo pkg-config: alsa
#include <stdlib.h>
#include <alsa/asoundlib.h>

static int vt_probe(const char *name) {
	snd_pcm_t *h;
	int err = snd_pcm_open(&h, name, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
	if (err < 0) return err;
	snd_pcm_close(h);
	return 0;
}
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// probeDevice opens and closes the ALSA playback devices beep's driver (oto) tries first, without
// blocking. beep's speaker.Init reports success even when none opens, and playback then hangs, so
// this is checked first.
func probeDevice() error {
	var msgs []string
	for _, name := range []string{"default", "plug:default"} {
		cname := C.CString(name)
		rc := C.vt_probe(cname)
		C.free(unsafe.Pointer(cname))
		if rc == 0 {
			return nil
		}
		if rc == -C.EBUSY || rc == -C.EAGAIN {
			return nil // it exists; another program holds it, and the mixer may still share it
		}
		msgs = append(msgs, fmt.Sprintf("%s: %s", name, C.GoString(C.snd_strerror(rc))))
	}
	return fmt.Errorf("%w: ALSA cannot open a playback device (%s); connect speakers or headphones, "+
		"or check that the sound server (PulseAudio/PipeWire) runs", ErrNoDevice, strings.Join(msgs, "; "))
}
