package features

import "github.com/viettts-studio/studio/inference/dsp"

// Resample converts mono audio from rate from to rate to the way torchaudio.functional.resample does
// by default (sinc_interp_hann, lowpass_filter_width 6, rolloff 0.99; output ceil(len·to/from)
// samples). It is the resampler VietTTS's front-end uses for prompts (the clip's rate → 16 kHz for
// CAM++ and the tokenizer, then 16 kHz → 22.05 kHz for the prompt mel). The work is done by
// inference/dsp; the features tests hold it to this package's torchaudio fixtures too.
func Resample(x []float32, from, to int) ([]float32, error) {
	return dsp.Resample(x, from, to)
}
