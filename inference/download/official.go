package download

import "strings"

// Repo is the publisher's Hugging Face repository.
const Repo = "dangvansam/viet-tts"

// DefaultEndpoint is Hugging Face; HF_ENDPOINT overrides it (a mirror, or a test server).
const DefaultEndpoint = "https://huggingface.co"

// DefaultTokenizerURL is where the text tokenizer's ranks live: it is part of the viet-tts source
// (viettts/tokenizer/multilingual.tiktoken, Apache-2.0), not of the Hugging Face repository.
const DefaultTokenizerURL = "https://raw.githubusercontent.com/dangvansam/viet-tts/main/viettts/tokenizer/multilingual.tiktoken"

// officialFiles are the published files with the sha256 values Hugging Face shows for them
// (Git LFS details of dangvansam/viet-tts at a3e9201) and the tokenizer's hash. config.yaml is
// kept in git, not LFS: its git blob id (the ETag) is checked instead.
var officialFiles = []struct {
	name, sha256 string
	size         int64
}{
	{"config.yaml", "", 0},
	{"llm.pt", "c1773e5afe16a88ee82e33cf510a07717ce1346d2e74856733d72dc297a9a017", 0},
	{"flow.pt", "1411de192039a21d53f0bf1968feb50586ce71d81ea1443f8163f4d1c46c5455", 0},
	{"hift.pt", "91e679b6ca1eff71187ffb4f3ab0444935594cdcc20a9bd12afad111ef8d6012", 0},
	{"speech_tokenizer.onnx", "56285ddd4a83e883ee0cb9f8d69c1089b53a94b1f78ff7e4a0224a27eb4cb486", 0},
	{"speech_embedding.onnx", "a6ac6a63997761ae2997373e2ee1c47040854b4b759ea41ec48e4e42df0f4d73", 28303423},
}

// TokenizerSHA256 is the sha256 of multilingual.tiktoken.
const TokenizerSHA256 = "747979631e813193436aabcff7c1c235d37de8097b71c563ec8b63b7a515c718"

// Official lists the files `model download` fetches: the Hugging Face files at
// {endpoint}/{Repo}/resolve/main/{name} and the tokenizer from tokenizerURL.
func Official(endpoint, tokenizerURL string) []File {
	endpoint = strings.TrimRight(endpoint, "/")
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	if tokenizerURL == "" {
		tokenizerURL = DefaultTokenizerURL
	}
	var out []File
	for _, f := range officialFiles {
		out = append(out, File{Name: f.name, URL: endpoint + "/" + Repo + "/resolve/main/" + f.name, SHA256: f.sha256, Size: f.size})
	}
	return append(out, File{Name: "multilingual.tiktoken", URL: tokenizerURL, SHA256: TokenizerSHA256})
}
