// Package features computes the audio features VietTTS's conditioning models read (MODEL.md §4):
//
//   - KaldiFbank: 80-bin Kaldi filterbank of 16 kHz audio, for the CAM++ speaker embedding
//     (speech_embedding.onnx), with per-utterance mean normalization;
//   - WhisperLogMel: the 128-bin Whisper log-mel of 16 kHz audio, for the S3 speech tokenizer;
//   - PromptMel: the 80-bin natural-log mel of 22.05 kHz audio, for the flow's prompt condition and
//     (by definition) the vocoder's input;
//   - Resample: torchaudio's windowed-sinc resampler (Hann window, 6 zero crossings, roll-off 0.99).
//
// Each one reproduces its PyTorch reference to 1e-4 relative (golden-tested against fixtures made by
// tools/fixtures/features/make.py). Inputs are mono float32 samples in [-1, 1].
package features

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Matrix is a dense row-major float32 matrix.
type Matrix struct {
	Rows, Cols int
	Data       []float32
}

// At returns element (r, c).
func (m Matrix) At(r, c int) float32 { return m.Data[r*m.Cols+c] }

func newMatrix(rows, cols int) Matrix {
	return Matrix{Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
}

// spectrum computes |FFT(frame)|² bins of one zero-padded frame.
type spectrum struct {
	fft   *fourier.FFT
	in    []float64
	coeff []complex128
}

func newSpectrum(n int) *spectrum {
	return &spectrum{fft: fourier.NewFFT(n), in: make([]float64, n), coeff: make([]complex128, n/2+1)}
}

// power fills dst (len n/2+1) with re²+im² of the FFT of s.in.
func (s *spectrum) power(dst []float64) {
	s.fft.Coefficients(s.coeff, s.in)
	for i, c := range s.coeff {
		re, im := real(c), imag(c)
		dst[i] = re*re + im*im
	}
}

// ---------------------------------------------------------------------------------------------
// Kaldi fbank

const (
	fbankFrameLen  = 400 // 25 ms at 16 kHz
	fbankShift     = 160 // 10 ms
	fbankFFT       = 512
	fbankBins      = 80
	fbankPreemph   = 0.97
	fbankLowFreq   = 20.0
	fbankRate      = 16000.0
	float32Epsilon = 1.1920928955078125e-07
)

// FbankBins is the number of filterbank channels KaldiFbank returns.
const FbankBins = fbankBins

// KaldiFbank returns the (frames × 80) log filterbank of 16 kHz audio with the options VietTTS uses
// for CAM++ (torchaudio.compliance.kaldi.fbank: povey window, pre-emphasis 0.97, DC removal, no
// dither, 512-point power spectrum, snip edges, log floored at float32 epsilon), then subtracts the
// mean of each channel over time. Audio shorter than one 25 ms frame is an error.
func KaldiFbank(samples []float32) (Matrix, error) {
	if len(samples) < fbankFrameLen {
		return Matrix{}, fmt.Errorf("fbank: %d samples is shorter than one %d-sample frame", len(samples), fbankFrameLen)
	}
	frames := 1 + (len(samples)-fbankFrameLen)/fbankShift
	window := make([]float64, fbankFrameLen)
	for i := range window {
		hann := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(fbankFrameLen-1))
		window[i] = math.Pow(hann, 0.85)
	}
	banks := kaldiMelBanks()
	sp := newSpectrum(fbankFFT)
	pow := make([]float64, fbankFFT/2+1)
	frame := make([]float64, fbankFrameLen)
	out := newMatrix(frames, fbankBins)
	mean := make([]float64, fbankBins)
	for f := 0; f < frames; f++ {
		src := samples[f*fbankShift : f*fbankShift+fbankFrameLen]
		var sum float64
		for i, v := range src {
			frame[i] = float64(v)
			sum += frame[i]
		}
		dc := sum / fbankFrameLen
		for i := range frame {
			frame[i] -= dc
		}
		for i := fbankFrameLen - 1; i > 0; i-- {
			frame[i] -= fbankPreemph * frame[i-1]
		}
		frame[0] -= fbankPreemph * frame[0]
		for i := range frame {
			sp.in[i] = frame[i] * window[i]
		}
		// sp.in[400:512] stays zero.
		sp.power(pow)
		row := out.Data[f*fbankBins : (f+1)*fbankBins]
		for b, bank := range banks {
			var e float64
			for j, w := range bank.weights {
				e += w * pow[bank.first+j]
			}
			v := math.Log(math.Max(e, float32Epsilon))
			row[b] = float32(v)
			mean[b] += v
		}
	}
	for b := range mean {
		mean[b] /= float64(frames)
	}
	for f := 0; f < frames; f++ {
		row := out.Data[f*fbankBins : (f+1)*fbankBins]
		for b := range row {
			row[b] = float32(float64(row[b]) - mean[b])
		}
	}
	return out, nil
}

// band is one triangular filter: weights for FFT bins first, first+1, ...
type band struct {
	first   int
	weights []float64
}

func kaldiMel(f float64) float64 { return 1127 * math.Log(1+f/700) }

// kaldiMelBanks builds Kaldi's mel filters (on the 1127·ln(1+f/700) scale, low 20 Hz, high Nyquist).
func kaldiMelBanks() []band {
	const nyquist = fbankRate / 2
	binWidth := fbankRate / fbankFFT
	lo, hi := kaldiMel(fbankLowFreq), kaldiMel(nyquist)
	delta := (hi - lo) / (fbankBins + 1)
	banks := make([]band, fbankBins)
	for b := range banks {
		left, center, right := lo+float64(b)*delta, lo+float64(b+1)*delta, lo+float64(b+2)*delta
		var bd band
		bd.first = -1
		for j := 0; j < fbankFFT/2; j++ {
			m := kaldiMel(binWidth * float64(j))
			up := (m - left) / (center - left)
			down := (right - m) / (right - center)
			w := math.Max(0, math.Min(up, down))
			if w > 0 {
				if bd.first < 0 {
					bd.first = j
				}
				bd.weights = append(bd.weights, w)
			} else if bd.first >= 0 {
				break
			}
		}
		if bd.first < 0 {
			bd.first = 0
		}
		banks[b] = bd
	}
	return banks
}

// ---------------------------------------------------------------------------------------------
// Slaney mel filters (librosa.filters.mel with htk=False, norm="slaney")

func slaneyHzToMel(f float64) float64 {
	const fSp, minLogHz, minLogMel = 200.0 / 3, 1000.0, 15.0
	logStep := math.Log(6.4) / 27
	if f >= minLogHz {
		return minLogMel + math.Log(f/minLogHz)/logStep
	}
	return f / fSp
}

func slaneyMelToHz(m float64) float64 {
	const fSp, minLogHz, minLogMel = 200.0 / 3, 1000.0, 15.0
	logStep := math.Log(6.4) / 27
	if m >= minLogMel {
		return minLogHz * math.Exp(logStep*(m-minLogMel))
	}
	return fSp * m
}

// slaneyMelBanks returns nMels area-normalized triangular filters over nFFT/2+1 bins.
func slaneyMelBanks(rate float64, nFFT, nMels int, fmin, fmax float64) []band {
	nFreq := nFFT/2 + 1
	freqs := make([]float64, nFreq)
	for i := range freqs {
		freqs[i] = float64(i) * (rate / 2) / float64(nFreq-1)
	}
	lo, hi := slaneyHzToMel(fmin), slaneyHzToMel(fmax)
	pts := make([]float64, nMels+2)
	for i := range pts {
		pts[i] = slaneyMelToHz(lo + (hi-lo)*float64(i)/float64(nMels+1))
	}
	banks := make([]band, nMels)
	for m := range banks {
		enorm := 2 / (pts[m+2] - pts[m])
		var bd band
		bd.first = -1
		for j, f := range freqs {
			lower := (f - pts[m]) / (pts[m+1] - pts[m])
			upper := (pts[m+2] - f) / (pts[m+2] - pts[m+1])
			w := math.Max(0, math.Min(lower, upper))
			if w > 0 {
				if bd.first < 0 {
					bd.first = j
				}
				bd.weights = append(bd.weights, w*enorm)
			} else if bd.first >= 0 {
				break
			}
		}
		if bd.first < 0 {
			bd.first = 0
		}
		banks[m] = bd
	}
	return banks
}

// periodicHann is torch.hann_window(n) (periodic=True).
func periodicHann(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
	}
	return w
}

// reflect returns x[i] for i in [-(len-1), 2·len-2] with reflect padding (no edge repeat).
func reflect(x []float32, i int) float32 {
	n := len(x)
	if i < 0 {
		i = -i
	}
	if i >= n {
		i = 2*(n-1) - i
	}
	return x[i]
}

// ---------------------------------------------------------------------------------------------
// Whisper log-mel

const (
	whisperFFT  = 400
	whisperHop  = 160
	whisperMels = 128
)

// WhisperMels is the number of mel bins WhisperLogMel returns.
const WhisperMels = whisperMels

// WhisperLogMel returns the (128 × frames) log-mel spectrogram of 16 kHz audio the way the S3 speech
// tokenizer computes it: periodic Hann 400, hop 160, centered with reflect padding, last frame
// dropped, power spectrum, Slaney mel filters, log10 floored at 1e-10, values below max−8 raised to
// it, then (x+4)/4. frames = len(samples)/160. Audio of 200 samples or fewer is an error.
func WhisperLogMel(samples []float32) (Matrix, error) {
	if len(samples) <= whisperFFT/2 {
		return Matrix{}, fmt.Errorf("whisper log-mel: %d samples is too short (need more than %d)", len(samples), whisperFFT/2)
	}
	frames := len(samples) / whisperHop
	window := periodicHann(whisperFFT)
	banks := slaneyMelBanks(16000, whisperFFT, whisperMels, 0, 8000)
	sp := newSpectrum(whisperFFT)
	pow := make([]float64, whisperFFT/2+1)
	logs := make([]float64, whisperMels*frames)
	maxLog := math.Inf(-1)
	for f := 0; f < frames; f++ {
		start := f*whisperHop - whisperFFT/2
		for i := range whisperFFT {
			sp.in[i] = float64(reflect(samples, start+i)) * window[i]
		}
		sp.power(pow)
		for m, bank := range banks {
			var e float64
			for j, w := range bank.weights {
				e += w * pow[bank.first+j]
			}
			v := math.Log10(math.Max(e, 1e-10))
			logs[m*frames+f] = v
			maxLog = math.Max(maxLog, v)
		}
	}
	out := newMatrix(whisperMels, frames)
	for i, v := range logs {
		out.Data[i] = float32((math.Max(v, maxLog-8) + 4) / 4)
	}
	return out, nil
}

// ---------------------------------------------------------------------------------------------
// 22.05 kHz prompt mel

const (
	promptFFT  = 1024
	promptHop  = 256
	promptMels = 80
)

// PromptMels is the number of mel bins PromptMel returns.
const PromptMels = promptMels

// PromptMel returns the (frames × 80) natural-log mel of 22.05 kHz audio (Matcha-TTS's
// mel_spectrogram as VietTTS configures it: reflect-pad 384 each side, n_fft 1024, hop 256, periodic
// Hann, magnitude sqrt(re²+im²+1e-9), Slaney mel 0-8000 Hz, ln floored at 1e-5).
// frames = len(samples)/256. Audio of 384 samples or fewer is an error.
func PromptMel(samples []float32) (Matrix, error) {
	const pad = (promptFFT - promptHop) / 2
	if len(samples) <= pad {
		return Matrix{}, fmt.Errorf("prompt mel: %d samples is too short (need more than %d)", len(samples), pad)
	}
	frames := len(samples) / promptHop
	window := periodicHann(promptFFT)
	banks := slaneyMelBanks(22050, promptFFT, promptMels, 0, 8000)
	sp := newSpectrum(promptFFT)
	pow := make([]float64, promptFFT/2+1)
	out := newMatrix(frames, promptMels)
	for f := 0; f < frames; f++ {
		start := f*promptHop - pad
		for i := range promptFFT {
			sp.in[i] = float64(reflect(samples, start+i)) * window[i]
		}
		sp.power(pow)
		for i, p := range pow {
			pow[i] = math.Sqrt(p + 1e-9)
		}
		row := out.Data[f*promptMels : (f+1)*promptMels]
		for m, bank := range banks {
			var e float64
			for j, w := range bank.weights {
				e += w * pow[bank.first+j]
			}
			row[m] = float32(math.Log(math.Max(e, 1e-5)))
		}
	}
	return out, nil
}
