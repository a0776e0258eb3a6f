package viettts

import (
	"context"
	"math"
	"math/rand/v2"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/viettts-studio/studio/inference"
)

// flow turns the prompt and generated speech tokens into the generated part's mel, (80 × frames)
// row-major, with the 10-step cosine Euler solver and batch-2 classifier-free guidance
// (MODEL.md §6.2).
func (e *Engine) flow(ctx context.Context, v *Voice, gen []int, rng *rand.Rand) (mel []float32, frames int, err error) {
	p, n, tp := len(v.Tokens), len(gen), v.Frames()
	interp, S, T := interpMatrix(p, n, tp)
	frames = T - tp
	if frames <= 0 {
		return nil, 0, inference.Errorf(inference.ClassBadInput, "the model produced %d speech tokens, too few for any audio", n)
	}
	tok := make([]int64, 0, S)
	for _, t := range v.Tokens {
		tok = append(tok, int64(t))
	}
	for _, t := range gen {
		tok = append(tok, int64(t))
	}

	// Encoder: mu (1, 80, T) and spks (1, 80) land in rows 0 of the estimator's batch-2 inputs; rows
	// 1 stay zero (the unconditional half).
	mu := make([]float32, 2*melBins*T)
	spks := make([]float32, 2*melBins)
	ts := []onnx.Value{}
	defer func() {
		for _, t := range ts {
			t.Destroy()
		}
	}()
	track := func(v onnx.Value, err error) (onnx.Value, error) {
		if err == nil {
			ts = append(ts, v)
		}
		return v, err
	}
	var tokT, interpT, spkT, muEncT, spksEncT onnx.Value
	if tokT, err = track(newTensor(onnx.NewShape(1, int64(S)), tok)); err != nil {
		return nil, 0, err
	}
	if interpT, err = track(newTensor(onnx.NewShape(int64(S), int64(T)), interp)); err != nil {
		return nil, 0, err
	}
	if spkT, err = track(newTensor(onnx.NewShape(1, int64(len(v.XVector))), v.XVector)); err != nil {
		return nil, 0, err
	}
	if muEncT, err = track(newTensor(onnx.NewShape(1, melBins, int64(T)), mu[:melBins*T])); err != nil {
		return nil, 0, err
	}
	if spksEncT, err = track(newTensor(onnx.NewShape(1, melBins), spks[:melBins])); err != nil {
		return nil, 0, err
	}
	in := make([]onnx.Value, 3)
	in[e.encoder.InputIndex("token")], in[e.encoder.InputIndex("interp")], in[e.encoder.InputIndex("spk_emb")] = tokT, interpT, spkT
	out := make([]onnx.Value, 2)
	out[e.encoder.OutputIndex("mu")], out[e.encoder.OutputIndex("spks")] = muEncT, spksEncT
	if err := e.run(ctx, e.encoder, &e.stats.FlowEncoder, in, out); err != nil {
		return nil, 0, err
	}

	// Estimator inputs, batch 2: x and t are the same in both rows; cond holds the prompt mel
	// (transposed to channels × time) in row 0.
	x := make([]float32, 2*melBins*T)
	for i := 0; i < melBins*T; i++ {
		x[i] = float32(rng.NormFloat64())
	}
	copy(x[melBins*T:], x[:melBins*T])
	cond := make([]float32, 2*melBins*T)
	for f := 0; f < tp; f++ {
		for c := 0; c < melBins; c++ {
			cond[c*T+f] = v.Mel[f*melBins+c]
		}
	}
	mask := make([]float32, 2*T)
	for i := range mask {
		mask[i] = 1
	}
	tt := make([]float32, 2)
	vel := make([]float32, 2*melBins*T)
	shape3 := onnx.NewShape(2, melBins, int64(T))
	var xT, maskT, muT, tT, spksT, condT, velT onnx.Value
	if xT, err = track(newTensor(shape3, x)); err != nil {
		return nil, 0, err
	}
	if maskT, err = track(newTensor(onnx.NewShape(2, 1, int64(T)), mask)); err != nil {
		return nil, 0, err
	}
	if muT, err = track(newTensor(shape3, mu)); err != nil {
		return nil, 0, err
	}
	if tT, err = track(newTensor(onnx.NewShape(2), tt)); err != nil {
		return nil, 0, err
	}
	if spksT, err = track(newTensor(onnx.NewShape(2, melBins), spks)); err != nil {
		return nil, 0, err
	}
	if condT, err = track(newTensor(shape3, cond)); err != nil {
		return nil, 0, err
	}
	if velT, err = track(newTensor(shape3, vel)); err != nil {
		return nil, 0, err
	}
	ein := make([]onnx.Value, 6)
	for name, val := range map[string]onnx.Value{"x": xT, "mask": maskT, "mu": muT, "t": tT, "spks": spksT, "cond": condT} {
		ein[e.estimator.InputIndex(name)] = val
	}
	eout := []onnx.Value{velT}

	sched := eulerSchedule()
	t, dt := sched[0], sched[1]-sched[0]
	half := melBins * T
	for step := 1; step <= eulerSteps; step++ {
		tt[0], tt[1] = t, t
		if err := e.run(ctx, e.estimator, &e.stats.Estimator, ein, eout); err != nil {
			return nil, 0, err
		}
		e.stats.EstimatorSteps++
		for i := 0; i < half; i++ {
			d := (1+cfgRate)*vel[i] - cfgRate*vel[half+i]
			x[i] += dt * d
		}
		copy(x[half:], x[:half])
		t += dt
		if step < eulerSteps {
			dt = sched[step+1] - t
		}
	}
	mel = make([]float32, melBins*frames)
	for c := 0; c < melBins; c++ {
		copy(mel[c*frames:(c+1)*frames], x[c*T+tp:c*T+T])
	}
	return mel, frames, nil
}

// vocode runs HiFT on an (80 × frames) mel with its noise inputs drawn from rng: the initial phases
// of harmonics 2-9 uniform in (−π, π) (the fundamental starts at 0), and unit normal noise per
// sample and harmonic.
func (e *Engine) vocode(ctx context.Context, mel []float32, frames int, rng *rand.Rand) ([]float32, error) {
	const harmonics = 9
	samples := frames * melHop
	phase := make([]float32, harmonics)
	for i := 1; i < harmonics; i++ {
		phase[i] = float32((rng.Float64()*2 - 1) * math.Pi)
	}
	noise := make([]float32, samples*harmonics)
	for i := range noise {
		noise[i] = float32(rng.NormFloat64())
	}
	wav := make([]float32, samples)
	var vals []onnx.Value
	defer func() {
		for _, v := range vals {
			v.Destroy()
		}
	}()
	melT, err := newTensor(onnx.NewShape(1, melBins, int64(frames)), mel)
	if err != nil {
		return nil, err
	}
	vals = append(vals, melT)
	phaseT, err := newTensor(onnx.NewShape(1, 1, harmonics), phase)
	if err != nil {
		return nil, err
	}
	vals = append(vals, phaseT)
	noiseT, err := newTensor(onnx.NewShape(1, int64(samples), harmonics), noise)
	if err != nil {
		return nil, err
	}
	vals = append(vals, noiseT)
	wavT, err := newTensor(onnx.NewShape(1, int64(samples)), wav)
	if err != nil {
		return nil, err
	}
	vals = append(vals, wavT)
	in := make([]onnx.Value, 3)
	in[e.hift.InputIndex("mel")], in[e.hift.InputIndex("phase_noise")], in[e.hift.InputIndex("sine_noise")] = melT, phaseT, noiseT
	if err := e.run(ctx, e.hift, &e.stats.Vocoder, in, []onnx.Value{wavT}); err != nil {
		return nil, err
	}
	e.stats.Vocodes++
	return wav, nil
}
