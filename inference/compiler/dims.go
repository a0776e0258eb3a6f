// Package compiler turns the VietTTS checkpoint (llm.pt, flow.pt, hift.pt) — or random weights of
// the same shapes — into the ONNX graphs of MODEL.md, built in Go with package graph. The same
// code makes the real model bundle, the full-size random bundle for benchmarks, and the tiny random
// bundle the tests run, because every size comes from a Dims value.
package compiler

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Dims holds every dimension of the three VietTTS networks (MODEL.md §5-§7). It is stored in the
// bundle manifest as JSON, so the runtime knows the sizes of the graphs it loads.
type Dims struct {
	// SampleRate is the output audio rate in Hz (22050).
	SampleRate int `json:"sample_rate"`
	// HopLength is the number of audio samples per mel frame (256).
	HopLength int `json:"hop_length"`
	// MelBins is the number of mel channels (80).
	MelBins int `json:"mel_bins"`
	// SpeakerEmbed is the size of the CAM++ x-vector (192).
	SpeakerEmbed int `json:"speaker_embed"`
	// SpeechTokens is the speech-token vocabulary (4096); the LLM adds one EOS id after it.
	SpeechTokens int `json:"speech_tokens"`
	// TokenRate is the speech-token rate in Hz (25 for CosyVoice-300M-25Hz).
	TokenRate int `json:"token_rate"`

	LLM  LLMDims  `json:"llm"`
	Flow FlowDims `json:"flow"`
	HiFT HiFTDims `json:"hift"`
}

// LLMDims are the sizes of the TransformerLM (MODEL.md §5.1).
type LLMDims struct {
	// TextVocab is the number of rows of text_embedding (60515).
	TextVocab int `json:"text_vocab"`
	// TextEmbed is the text embedding width, the text encoder's input size (512).
	TextEmbed int `json:"text_embed"`
	// Model is the width of the text encoder and the LLM (1024).
	Model int `json:"model"`
	// Heads is the number of attention heads in both encoders (16).
	Heads int `json:"heads"`
	// FF is the feed-forward hidden width (4096).
	FF int `json:"ff"`
	// TextEncoderBlocks is the number of conformer blocks of the text encoder (6).
	TextEncoderBlocks int `json:"text_encoder_blocks"`
	// Blocks is the number of transformer blocks of the LLM (14).
	Blocks int `json:"blocks"`
	// MaxPositions is the length of the relative positional table (EspnetRelPositionalEncoding
	// max_len, 5000): the most keys one attention may see.
	MaxPositions int `json:"max_positions"`
}

// HeadDim is the width of one attention head.
func (l LLMDims) HeadDim() int { return l.Model / l.Heads }

// FlowDims are the sizes of the flow (MaskedDiffWithXvec + ConditionalCFM, MODEL.md §6).
type FlowDims struct {
	// Model is the token embedding and conformer width (512).
	Model int `json:"model"`
	// Heads is the conformer's attention heads (8).
	Heads int `json:"heads"`
	// FF is the conformer's feed-forward width (2048).
	FF int `json:"ff"`
	// Blocks is the number of conformer blocks (6).
	Blocks int `json:"blocks"`
	// MaxPositions is the conformer's relative positional table length (5000).
	MaxPositions int `json:"max_positions"`
	// RegulatorConvs is the number of Conv1d+GroupNorm+Mish stages of the length regulator (4).
	RegulatorConvs int `json:"regulator_convs"`
	// EstimatorChannels is the U-Net width (256).
	EstimatorChannels int `json:"estimator_channels"`
	// EstimatorDownBlocks is the number of down (and up) stages (1 with stride, then 1 without = 2).
	EstimatorDownBlocks int `json:"estimator_down_blocks"`
	// EstimatorMidBlocks is the number of middle stages (12).
	EstimatorMidBlocks int `json:"estimator_mid_blocks"`
	// TransformerBlocks is the number of transformer blocks per U-Net stage (4).
	TransformerBlocks int `json:"transformer_blocks"`
	// AttentionHeads and AttentionHeadDim shape the estimator's attention (8 × 64).
	AttentionHeads   int `json:"attention_heads"`
	AttentionHeadDim int `json:"attention_head_dim"`
	// TimeEmbed is the width of the time MLP (1024 = 4 × channels).
	TimeEmbed int `json:"time_embed"`
	// GroupNormGroups is the GroupNorm group count inside the estimator's Block1D (8).
	GroupNormGroups int `json:"group_norm_groups"`
}

// HiFTDims are the sizes of the HiFT vocoder (MODEL.md §7).
type HiFTDims struct {
	// BaseChannels is conv_pre's output width (512); each upsampling stage halves it.
	BaseChannels int `json:"base_channels"`
	// UpsampleRates and UpsampleKernels describe the ConvTranspose1d stages ([8,8], [16,16]).
	UpsampleRates   []int `json:"upsample_rates"`
	UpsampleKernels []int `json:"upsample_kernels"`
	// ResblockKernels and ResblockDilations describe the resblocks of each stage ([3,7,11], [1,3,5]).
	ResblockKernels   []int   `json:"resblock_kernels"`
	ResblockDilations [][]int `json:"resblock_dilations"`
	// SourceResblockKernels and SourceResblockDilations describe the source branch ([7,11], [1,3,5]).
	SourceResblockKernels   []int   `json:"source_resblock_kernels"`
	SourceResblockDilations [][]int `json:"source_resblock_dilations"`
	// Harmonics is nb_harmonics (8); the source has Harmonics+1 sine channels.
	Harmonics int `json:"harmonics"`
	// NFFT and Hop are the iSTFT sizes (16 and 4).
	NFFT int `json:"n_fft"`
	Hop  int `json:"hop"`
	// F0Channels and F0Layers shape the f0 predictor's condnet (512, 5).
	F0Channels int `json:"f0_channels"`
	F0Layers   int `json:"f0_layers"`
	// PreKernel and PostKernel are conv_pre's and conv_post's kernel sizes (7, 7).
	PreKernel  int `json:"pre_kernel"`
	PostKernel int `json:"post_kernel"`
	// VoicedThreshold is the f0 (Hz) above which a frame counts as voiced (10).
	VoicedThreshold float64 `json:"voiced_threshold"`
	// SineAmp and NoiseStd are the source module's sine amplitude (0.1) and voiced noise std (0.003).
	SineAmp  float64 `json:"sine_amp"`
	NoiseStd float64 `json:"noise_std"`
}

// FullDims are the dimensions of the published VietTTS checkpoint.
func FullDims() Dims {
	return Dims{
		SampleRate:   22050,
		HopLength:    256,
		MelBins:      80,
		SpeakerEmbed: 192,
		SpeechTokens: 4096,
		TokenRate:    25,
		LLM: LLMDims{
			TextVocab: 60515, TextEmbed: 512, Model: 1024, Heads: 16, FF: 4096,
			TextEncoderBlocks: 6, Blocks: 14, MaxPositions: 5000,
		},
		Flow: FlowDims{
			Model: 512, Heads: 8, FF: 2048, Blocks: 6, MaxPositions: 5000, RegulatorConvs: 4,
			EstimatorChannels: 256, EstimatorDownBlocks: 2, EstimatorMidBlocks: 12, TransformerBlocks: 4,
			AttentionHeads: 8, AttentionHeadDim: 64, TimeEmbed: 1024, GroupNormGroups: 8,
		},
		HiFT: HiFTDims{
			BaseChannels: 512, UpsampleRates: []int{8, 8}, UpsampleKernels: []int{16, 16},
			ResblockKernels: []int{3, 7, 11}, ResblockDilations: [][]int{{1, 3, 5}, {1, 3, 5}, {1, 3, 5}},
			SourceResblockKernels: []int{7, 11}, SourceResblockDilations: [][]int{{1, 3, 5}, {1, 3, 5}},
			Harmonics: 8, NFFT: 16, Hop: 4, F0Channels: 512, F0Layers: 5, PreKernel: 7, PostKernel: 7,
			VoicedThreshold: 10, SineAmp: 0.1, NoiseStd: 0.003,
		},
	}
}

// TinyDims are small dimensions for tests: few layers and narrow widths, but the vocabularies,
// mel, speaker, rate and hop sizes the tokenizer and runtime depend on are the real ones. The
// upsampling product still equals the hop (8·8·4 = 256), so audio lengths are real too.
func TinyDims() Dims {
	d := FullDims()
	d.LLM = LLMDims{
		TextVocab: 60515, TextEmbed: 16, Model: 32, Heads: 4, FF: 64,
		TextEncoderBlocks: 2, Blocks: 2, MaxPositions: 1024,
	}
	d.Flow = FlowDims{
		Model: 32, Heads: 4, FF: 64, Blocks: 2, MaxPositions: 5000, RegulatorConvs: 2,
		EstimatorChannels: 32, EstimatorDownBlocks: 2, EstimatorMidBlocks: 1, TransformerBlocks: 1,
		AttentionHeads: 2, AttentionHeadDim: 16, TimeEmbed: 64, GroupNormGroups: 8,
	}
	d.HiFT = HiFTDims{
		BaseChannels: 32, UpsampleRates: []int{8, 8}, UpsampleKernels: []int{16, 16},
		ResblockKernels: []int{3, 7}, ResblockDilations: [][]int{{1, 3}, {1, 3}},
		SourceResblockKernels: []int{7, 11}, SourceResblockDilations: [][]int{{1, 3}, {1, 3}},
		Harmonics: 8, NFFT: 16, Hop: 4, F0Channels: 16, F0Layers: 2, PreKernel: 7, PostKernel: 7,
		VoicedThreshold: 10, SineAmp: 0.1, NoiseStd: 0.003,
	}
	return d
}

// Preset returns the named dimension preset: "full" or "tiny".
func Preset(name string) (Dims, error) {
	switch name {
	case "full":
		return FullDims(), nil
	case "tiny":
		return TinyDims(), nil
	}
	return Dims{}, fmt.Errorf("unknown model size %q: use full or tiny", name)
}

// Validate reports dimensions that cannot build a working model.
func (d Dims) Validate() error {
	var errs []error
	pos := func(name string, v int) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %d", name, v))
		}
	}
	pos("sample_rate", d.SampleRate)
	pos("hop_length", d.HopLength)
	pos("mel_bins", d.MelBins)
	pos("speaker_embed", d.SpeakerEmbed)
	pos("speech_tokens", d.SpeechTokens)
	pos("token_rate", d.TokenRate)
	l := d.LLM
	pos("llm.text_vocab", l.TextVocab)
	pos("llm.text_embed", l.TextEmbed)
	pos("llm.model", l.Model)
	pos("llm.heads", l.Heads)
	pos("llm.ff", l.FF)
	pos("llm.text_encoder_blocks", l.TextEncoderBlocks)
	pos("llm.blocks", l.Blocks)
	pos("llm.max_positions", l.MaxPositions)
	if l.Heads > 0 && l.Model%l.Heads != 0 {
		errs = append(errs, fmt.Errorf("llm.model %d is not divisible by llm.heads %d", l.Model, l.Heads))
	}
	f := d.Flow
	pos("flow.model", f.Model)
	pos("flow.heads", f.Heads)
	pos("flow.blocks", f.Blocks)
	if f.Heads > 0 && f.Model%f.Heads != 0 {
		errs = append(errs, fmt.Errorf("flow.model %d is not divisible by flow.heads %d", f.Model, f.Heads))
	}
	h := d.HiFT
	if len(h.UpsampleRates) != len(h.UpsampleKernels) {
		errs = append(errs, fmt.Errorf("hift: %d upsample rates but %d kernels", len(h.UpsampleRates), len(h.UpsampleKernels)))
	}
	if len(h.ResblockKernels) != len(h.ResblockDilations) {
		errs = append(errs, fmt.Errorf("hift: %d resblock kernels but %d dilation lists", len(h.ResblockKernels), len(h.ResblockDilations)))
	}
	if len(h.SourceResblockKernels) != len(h.SourceResblockDilations) {
		errs = append(errs, fmt.Errorf("hift: %d source resblock kernels but %d dilation lists", len(h.SourceResblockKernels), len(h.SourceResblockDilations)))
	}
	up := h.Hop
	for _, r := range h.UpsampleRates {
		up *= r
	}
	if up != d.HopLength {
		errs = append(errs, fmt.Errorf("hift: upsampling %v × istft hop %d = %d samples per frame, but hop_length is %d", h.UpsampleRates, h.Hop, up, d.HopLength))
	}
	return errors.Join(errs...)
}

// MarshalIndent is the JSON form stored in the bundle manifest.
func (d Dims) MarshalIndent() ([]byte, error) { return json.MarshalIndent(d, "", "  ") }
