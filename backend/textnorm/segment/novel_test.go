package segment

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/backend/textnorm"
)

// novel generates a deterministic novel-like Vietnamese text of about size bytes: chapters,
// paragraphs of narration and dialogue, with the numbers, dates, times, money, abbreviations and
// punctuation a real novel has. The same size always gives the same text.
func novel(size int) string {
	rng := rand.New(rand.NewPCG(1945, 975))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	people := []string{"ông Tư", "bà Năm", "chị Hoa", "anh Minh", "thằng Tí", "cô giáo Lan", "bác sĩ Hùng", "lão Hạc", "cụ Đồ", "Mị"}
	places := []string{"đầu làng", "bến sông", "chợ huyện", "TP.HCM", "Hà Nội", "trường THPT", "UBND xã", "cánh đồng", "gốc đa", "nhà thờ họ"}
	verbs := []string{"bước chậm rãi về phía", "ngồi lặng im bên", "vội vã chạy ra", "đứng nhìn mãi về", "lặng lẽ quay lại", "cất tiếng gọi từ"}
	feelings := []string{"buồn rười rượi", "vui như Tết", "lo lắng không yên", "bồn chồn khó tả", "thảnh thơi lạ thường", "tức giận ra mặt"}
	weather := []string{"Trời đổ mưa như trút nước", "Nắng vàng trải khắp sân", "Gió mùa đông bắc tràn về", "Sương mù phủ trắng mặt sông", "Trăng lên sáng vằng vặc"}
	templates := []func() string{
		func() string {
			return fmt.Sprintf("%s %s %s, lòng %s.", strings.ToUpper(pick(people)[:1])+pick(people)[1:], pick(verbs), pick(places), pick(feelings))
		},
		func() string {
			return fmt.Sprintf("%s, %s vẫn chưa về.", pick(weather), pick(people))
		},
		func() string {
			return fmt.Sprintf("Ngày %d/%d/%d, %s nhận được bức thư gửi từ %s.", 1+rng.IntN(28), 1+rng.IntN(12), 1930+rng.IntN(90), pick(people), pick(places))
		},
		func() string {
			return fmt.Sprintf("Lúc %dh%02d sáng, chuyến xe %d chỗ rời bến, chở theo %d bao gạo, mỗi bao %d kg.", 4+rng.IntN(6), rng.IntN(60), 16+rng.IntN(30), 10+rng.IntN(90), 25+rng.IntN(50))
		},
		func() string {
			return fmt.Sprintf("Món nợ %d.%03d.000 đồng đè nặng lên vai %s suốt %d năm trời.", 1+rng.IntN(900), rng.IntN(1000), pick(people), 2+rng.IntN(20))
		},
		func() string {
			return fmt.Sprintf("\"%s ơi, về ăn cơm đi!\" - tiếng %s vọng ra từ %s.", pick(people), pick(people), pick(places))
		},
		func() string {
			return fmt.Sprintf("- Năm nay được mùa không %s?\n- Cũng được %d,%d tấn một ha, giá %dk một ký, đủ ăn thôi.", pick(people), 5+rng.IntN(3), rng.IntN(10), 5+rng.IntN(10))
		},
		func() string {
			return fmt.Sprintf("Từ thế kỷ XIX đến nay, làng đã qua %d đời trưởng họ, %d lần lũ lớn và không biết bao nhiêu mùa giáp hạt, khi người ta phải ăn cháo loãng, đào củ mài, nhịn đói mà đi làm thuê cho nhà giàu ở %s.", 3+rng.IntN(9), 2+rng.IntN(8), pick(places))
		},
		func() string {
			return fmt.Sprintf("Nhiệt độ xuống còn %d°C, %s co ro trong manh áo cũ mà nghĩ về những ngày xưa cũ, về mẹ, về quê, về cái bếp lửa đỏ hồng mỗi chiều đông… rồi khẽ thở dài.", 3+rng.IntN(12), pick(people))
		},
		func() string {
			return fmt.Sprintf("Khoảng %d%% dân làng đã đi làm ăn xa, chỉ còn lại người già và trẻ nhỏ.", 10+rng.IntN(80))
		},
	}
	var b strings.Builder
	chapter := 0
	for b.Len() < size {
		chapter++
		fmt.Fprintf(&b, "Chương %s\n\n", toRoman(chapter))
		for p := 0; p < 8+rng.IntN(8) && b.Len() < size; p++ {
			for s := 0; s < 2+rng.IntN(6); s++ {
				if s > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(templates[rng.IntN(len(templates))]())
			}
			b.WriteString("\n\n")
		}
	}
	return b.String()
}

func toRoman(n int) string {
	vals := []int{100, 90, 50, 40, 10, 9, 5, 4, 1}
	syms := []string{"C", "XC", "L", "XL", "X", "IX", "V", "IV", "I"}
	var b strings.Builder
	for i, v := range vals {
		for n >= v {
			b.WriteString(syms[i])
			n -= v
		}
	}
	return b.String()
}

func TestNovelIsDeterministic(t *testing.T) {
	a, b := novel(20000), novel(20000)
	if a != b || len(a) < 20000 {
		t.Fatal("novel() must give the same text of at least the size asked for")
	}
}

// BenchmarkNormalizeAndSplitNovel normalizes and segments a 1 MB novel-like text, as the app
// does when a book is imported. Run: go test ./backend/textnorm/segment -run XXX -bench Novel
func BenchmarkNormalizeAndSplitNovel(b *testing.B) {
	text := novel(1 << 20)
	n := textnorm.New(textnorm.Options{})
	for _, c := range []struct {
		name string
		tok  func(b *testing.B) TokenCounter
	}{
		{"approx", func(*testing.B) TokenCounter { return Approx{} }},
		{"tokenizer", func(b *testing.B) TokenCounter { return modelTokenizer(b) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			tok := c.tok(b)
			b.SetBytes(int64(len(text)))
			segs := 0
			cpu := cpuTime()
			for b.Loop() {
				r := n.Normalize(text)
				segs = len(Split(r, tok, Options{}))
			}
			b.ReportMetric(float64(segs), "segments")
			if used := cpuTime() - cpu; used > 0 {
				b.ReportMetric(float64(used.Milliseconds())/float64(b.N), "cpu-ms/op")
			}
		})
	}
}

// BenchmarkNormalizeNovel measures the verbalizer alone on the same 1 MB text.
func BenchmarkNormalizeNovel(b *testing.B) {
	text := novel(1 << 20)
	n := textnorm.New(textnorm.Options{})
	b.SetBytes(int64(len(text)))
	cpu := cpuTime()
	for b.Loop() {
		n.Normalize(text)
	}
	if used := cpuTime() - cpu; used > 0 {
		b.ReportMetric(float64(used.Milliseconds())/float64(b.N), "cpu-ms/op")
	}
}
