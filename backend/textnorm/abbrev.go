package textnorm

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// abbreviationList is the shipped list of abbreviations and acronyms with their spoken form,
// one "written|spoken" pair a line. Matching is case-sensitive and on whole tokens; the longest
// entry wins. Acronyms not listed here are spelled with Vietnamese letter names when they are
// not Vietnamese syllables ("VTV" → "vê tê vê"), so entries are needed only for acronyms read
// as words or expanded.
const abbreviationList = `
TP.HCM|thành phố Hồ Chí Minh
TP. HCM|thành phố Hồ Chí Minh
TP HCM|thành phố Hồ Chí Minh
TPHCM|thành phố Hồ Chí Minh
Tp.HCM|thành phố Hồ Chí Minh
Tp. HCM|thành phố Hồ Chí Minh
TP.Hồ Chí Minh|thành phố Hồ Chí Minh
HCM|Hồ Chí Minh
TP.|thành phố
Tp.|thành phố
TP|thành phố
HN|Hà Nội
SG|Sài Gòn
VN|Việt Nam
ĐN|Đà Nẵng
BR-VT|Bà Rịa Vũng Tàu
ĐBSCL|đồng bằng sông Cửu Long
ĐBSH|đồng bằng sông Hồng
ĐNÁ|Đông Nam Á
ĐNB|Đông Nam Bộ
LHQ|Liên Hợp Quốc
Q.|quận
P.|phường
TX.|thị xã
TT.|thị trấn
H.|huyện
X.|xã
QL|quốc lộ
TL|tỉnh lộ
KP|khu phố
KCN|khu công nghiệp
KCX|khu chế xuất
KĐT|khu đô thị
Km|ki lô mét
UBND|ủy ban nhân dân
HĐND|hội đồng nhân dân
MTTQ|mặt trận tổ quốc
MTTQVN|mặt trận tổ quốc Việt Nam
TƯ|trung ương
TW|trung ương
BCH|ban chấp hành
BCT|bộ chính trị
QH|quốc hội
ĐBQH|đại biểu quốc hội
UBTVQH|ủy ban thường vụ quốc hội
NĐ-CP|nghị định chính phủ
QĐ-TTg|quyết định thủ tướng
QĐ-UBND|quyết định ủy ban nhân dân
TT-BTC|thông tư bộ tài chính
NQ-CP|nghị quyết chính phủ
CT-TTg|chỉ thị thủ tướng
NĐ|nghị định
QĐ|quyết định
NQ|nghị quyết
TTg|thủ tướng
BLHS|bộ luật hình sự
BLDS|bộ luật dân sự
BLLĐ|bộ luật lao động
BLTTHS|bộ luật tố tụng hình sự
TAND|tòa án nhân dân
TANDTC|tòa án nhân dân tối cao
VKSND|viện kiểm sát nhân dân
VKSNDTC|viện kiểm sát nhân dân tối cao
HĐTP|hội đồng thẩm phán
CAND|công an nhân dân
QĐND|quân đội nhân dân
LLVT|lực lượng vũ trang
CSGT|cảnh sát giao thông
CSCĐ|cảnh sát cơ động
CSHS|cảnh sát hình sự
PCCC|phòng cháy chữa cháy
ATGT|an toàn giao thông
TNGT|tai nạn giao thông
ANTT|an ninh trật tự
ANQP|an ninh quốc phòng
AN-QP|an ninh quốc phòng
QP-AN|quốc phòng an ninh
KT-XH|kinh tế xã hội
KTXH|kinh tế xã hội
VPHC|vi phạm hành chính
PCTN|phòng chống tham nhũng
GTVT|giao thông vận tải
GD&ĐT|giáo dục và đào tạo
GD-ĐT|giáo dục và đào tạo
GDĐT|giáo dục đào tạo
KH&CN|khoa học và công nghệ
KHCN|khoa học công nghệ
TN&MT|tài nguyên và môi trường
TNMT|tài nguyên môi trường
NN&PTNT|nông nghiệp và phát triển nông thôn
NNPTNT|nông nghiệp phát triển nông thôn
LĐ-TB&XH|lao động thương binh và xã hội
LĐTBXH|lao động thương binh xã hội
VH-TT&DL|văn hóa thể thao và du lịch
VHTTDL|văn hóa thể thao du lịch
TT&TT|thông tin và truyền thông
TTTT|thông tin truyền thông
BTC|ban tổ chức
BYT|bộ y tế
KHTC|kế hoạch tài chính
KHĐT|kế hoạch đầu tư
BCA|bộ công an
BQP|bộ quốc phòng
BNG|bộ ngoại giao
TTXVN|thông tấn xã Việt Nam
ĐCSVN|đảng cộng sản Việt Nam
CHXHCN|cộng hòa xã hội chủ nghĩa
CHXHCNVN|cộng hòa xã hội chủ nghĩa Việt Nam
XHCN|xã hội chủ nghĩa
TBCN|tư bản chủ nghĩa
HLHPN|hội liên hiệp phụ nữ
ĐTN|đoàn thanh niên
TNCS|thanh niên cộng sản
HĐBA|hội đồng bảo an
ĐSQ|đại sứ quán
TLSQ|tổng lãnh sự quán
BHXH|bảo hiểm xã hội
BHYT|bảo hiểm y tế
BHTN|bảo hiểm thất nghiệp
CMND|chứng minh nhân dân
CCCD|căn cước công dân
GPLX|giấy phép lái xe
ĐKKD|đăng ký kinh doanh
MST|mã số thuế
SĐT|số điện thoại
SN|sinh năm
BKS|biển kiểm soát
ĐTDĐ|điện thoại di động
STT|số thứ tự
ĐVT|đơn vị tính
SL|số lượng
TK|tài khoản
HĐ|hợp đồng
HĐLĐ|hợp đồng lao động
HĐQT|hội đồng quản trị
ĐHĐCĐ|đại hội đồng cổ đông
TGĐ|tổng giám đốc
GĐ|giám đốc
PGĐ|phó giám đốc
PCT|phó chủ tịch
BQL|ban quản lý
BGH|ban giám hiệu
BGĐ|ban giám đốc
TNHH|trách nhiệm hữu hạn
MTV|một thành viên
CTCP|công ty cổ phần
TMCP|thương mại cổ phần
CP|cổ phần
Cty|công ty
DN|doanh nghiệp
DNNN|doanh nghiệp nhà nước
DNNVV|doanh nghiệp nhỏ và vừa
NHNN|ngân hàng nhà nước
NHTM|ngân hàng thương mại
BĐS|bất động sản
XNK|xuất nhập khẩu
XK|xuất khẩu
NK|nhập khẩu
TTCK|thị trường chứng khoán
CK|chứng khoán
TNDN|thu nhập doanh nghiệp
TNCN|thu nhập cá nhân
GTGT|giá trị gia tăng
CSHT|cơ sở hạ tầng
NTM|nông thôn mới
HTX|hợp tác xã
CNTT|công nghệ thông tin
KHKT|khoa học kỹ thuật
NCKH|nghiên cứu khoa học
TDTT|thể dục thể thao
HLV|huấn luyện viên
CLB|câu lạc bộ
HCV|huy chương vàng
HCB|huy chương bạc
HCĐ|huy chương đồng
VĐV|vận động viên
ĐTQG|đội tuyển quốc gia
THPT|trung học phổ thông
THCS|trung học cơ sở
THCN|trung học chuyên nghiệp
GDTX|giáo dục thường xuyên
GDNN|giáo dục nghề nghiệp
ĐH|đại học
CĐ|cao đẳng
ĐHQG|đại học quốc gia
ĐHQGHN|đại học quốc gia Hà Nội
ĐHBK|đại học bách khoa
ĐHSP|đại học sư phạm
ĐHKHTN|đại học khoa học tự nhiên
KTX|ký túc xá
SV|sinh viên
HS|học sinh
GV|giáo viên
GVCN|giáo viên chủ nhiệm
NCS|nghiên cứu sinh
GS.TSKH|giáo sư tiến sĩ khoa học
GS.TS.|giáo sư tiến sĩ
GS.TS|giáo sư tiến sĩ
PGS.TS.|phó giáo sư tiến sĩ
PGS.TS|phó giáo sư tiến sĩ
PGS. TS|phó giáo sư tiến sĩ
GS. TS|giáo sư tiến sĩ
ThS.BS|thạc sĩ bác sĩ
ThS. BS|thạc sĩ bác sĩ
TS.BS|tiến sĩ bác sĩ
BSCKII|bác sĩ chuyên khoa hai
BSCKI|bác sĩ chuyên khoa một
BS.CKII|bác sĩ chuyên khoa hai
BS.CKI|bác sĩ chuyên khoa một
GS.|giáo sư
PGS.|phó giáo sư
TS.|tiến sĩ
ThS.|thạc sĩ
Th.S|thạc sĩ
BS.|bác sĩ
KS.|kỹ sư
GS|giáo sư
PGS|phó giáo sư
TS|tiến sĩ
TSKH|tiến sĩ khoa học
ThS|thạc sĩ
BS|bác sĩ
KS|kỹ sư
KTS|kiến trúc sư
LS.|luật sư
LS|luật sư
V.League|vi lích
V-League|vi lích
NSND|nghệ sĩ nhân dân
NSƯT|nghệ sĩ ưu tú
NGND|nhà giáo nhân dân
NGƯT|nhà giáo ưu tú
TTND|thầy thuốc nhân dân
TTƯT|thầy thuốc ưu tú
AHLĐ|anh hùng lao động
PV|phóng viên
BTV|biên tập viên
CTV|cộng tác viên
NXB|nhà xuất bản
Nxb|nhà xuất bản
CB|cán bộ
CBCNV|cán bộ công nhân viên
CNVC|công nhân viên chức
NLĐ|người lao động
BN|bệnh nhân
BV|bệnh viện
BVĐK|bệnh viện đa khoa
TTYT|trung tâm y tế
ATTP|an toàn thực phẩm
VSATTP|vệ sinh an toàn thực phẩm
BVMT|bảo vệ môi trường
BĐKH|biến đổi khí hậu
NLTT|năng lượng tái tạo
TCN|trước công nguyên
SCN|sau công nguyên
CN|chủ nhật
T2|thứ hai
T3|thứ ba
T4|thứ tư
T5|thứ năm
T6|thứ sáu
T7|thứ bảy
v.v...|vân vân
v.v.|vân vân
v.v|vân vân
vv.|vân vân
VD|ví dụ
Vd|ví dụ
vd|ví dụ
tr.|trang
Tr.|trang
đ/c|đồng chí
Đ/c|đồng chí
k/g|kính gửi
K/g|kính gửi
P/S|tái bút
Mr.|mít tơ
Mrs.|mít xịt
Ms.|mít
Dr.|đốc tơ
TB|thông báo
USD|đô la Mỹ
VND|Việt Nam đồng
VNĐ|Việt Nam đồng
EUR|ơ rô
ASEAN|a xê an
APEC|a pếch
NATO|na tô
UNESCO|u nét xcô
UNICEF|u ni xép
FIFA|phi pha
AFC|a ép xê
SEA Games|xi gêm
COVID|cô vít
Covid|cô vít
AI|ây ai
A.I|ây ai
IT|ai ti
CEO|xi i âu
OK|ô kê
VIP|víp
MC|em xi
DJ|đi giây
Wi-Fi|wai phai
WiFi|wai phai
iPhone|ai phôn
iPad|ai pát
YouTube|diu túp
Youtube|diu túp
TikTok|tích tóc
Facebook|phây búc
Zalo|da lô
Google|gu gồ
HIV|hát i vê
AIDS|ết
ADN|a đê nờ
WHO|vê kép hát o
VN-Index|vê nờ in đéc
HOSE|hô xê
`

// loanWords are common foreign words with the way Vietnamese narrators say them; matched
// without regard to case, on whole words.
var loanWords = map[string]string{
	"email": "i meo", "e-mail": "i meo", "online": "ón lai", "offline": "óp lai",
	"website": "goép sai", "web": "goép", "internet": "in tơ nét", "smartphone": "xmát phôn",
	"laptop": "láp tóp", "video": "vi đê ô", "game": "gêm", "app": "áp", "livestream": "lai xờ trim",
	"show": "sô", "clip": "clíp", "selfie": "xen phi", "marketing": "ma két tinh", "startup": "xtát áp",
	"wifi": "wai phai", "fan": "phan", "idol": "ai đồ", "like": "lai", "share": "se",
	"comment": "còm men", "virus": "vi rút", "vaccine": "vắc xin", "vacxin": "vắc xin",
	"taxi": "tắc xi", "pizza": "pi da", "menu": "mê nu", "file": "phai", "password": "pát guốt",
	"download": "đao lốt", "upload": "áp lốt", "update": "áp đết", "camera": "ca mê ra",
	"radio": "ra đi ô", "robot": "rô bốt", "blog": "blốc", "chat": "chát", "hacker": "hắc cơ",
	"ok": "ô kê", "okay": "ô kê", "hotline": "hót lai", "fanpage": "phan pết",
}

var placeWords = map[string]bool{"Q.": true, "P.": true, "H.": true, "X.": true, "TX.": true, "TT.": true}

type abbrev struct {
	key, read string
	ends      bool // may end a sentence (v.v.)
	place     bool // a one-letter place word (Q. P. H. X. TX. TT.): needs a name or number after it
}

var (
	abbrevExact  map[string]string
	abbrevByRune map[rune][]abbrev
)

func init() {
	abbrevExact = map[string]string{}
	abbrevByRune = map[rune][]abbrev{}
	for _, line := range strings.Split(abbreviationList, "\n") {
		key, read, ok := strings.Cut(strings.TrimSpace(line), "|")
		if !ok || key == "" {
			continue
		}
		abbrevExact[key] = read
		r, _ := utf8.DecodeRuneInString(key)
		abbrevByRune[r] = append(abbrevByRune[r], abbrev{key: key, read: read,
			ends:  strings.HasPrefix(key, "v.v") || key == "vv.",
			place: placeWords[key]})
	}
	for r := range abbrevByRune {
		list := abbrevByRune[r]
		sort.SliceStable(list, func(a, b int) bool { return len(list[a].key) > len(list[b].key) })
	}
}
