package report

import (
	"fmt"
	"html"
	"regexp"
	"strings"
)

// Document is a report as a list of blocks: Markdown and HTML are two
// renderings of it, so neither is read back to make the other.
type Document struct {
	Blocks []Block
}

// Block is one heading, paragraph, quote, list, table or image.
type Block interface {
	markdown(b *strings.Builder)
	html(b *strings.Builder, svgs map[string][]byte)
}

// Text is a run of prose in which **x** is strong and `x` is code (the
// only markup a report uses).
type Text string

// The kinds of block.
type (
	Heading struct {
		Level int // 1-3
		Text  Text
	}
	Para  struct{ Text Text }
	Quote struct{ Text Text }
	List  struct{ Items []Text }
	Table struct {
		Header []Text
		Rows   [][]Text
	}
	// Image is a chart: a link to its file in Markdown, the SVG itself
	// inline in HTML.
	Image struct{ Alt, File string }
)

// Add appends blocks.
func (d *Document) Add(b ...Block) { d.Blocks = append(d.Blocks, b...) }

// Textf formats a Text.
func Textf(format string, args ...any) Text { return Text(fmt.Sprintf(format, args...)) }

// Markdown renders the document as Markdown.
func (d *Document) Markdown() string {
	var b strings.Builder
	for i, bl := range d.Blocks {
		if i > 0 {
			b.WriteString("\n")
		}
		bl.markdown(&b)
	}
	return b.String()
}

// HTML renders the document as one self-contained page: an image whose
// file is in svgs is put inline, so the page needs no other file and no
// network.
func (d *Document) HTML(svgs map[string][]byte) string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>vmm bench report</title><style>
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top}
th{background:#f3f3f3}blockquote{background:#fff4d6;border-left:4px solid #e0a800;margin:1rem 0;padding:.5rem 1rem}
code{background:#f3f3f3;padding:0 .2rem}svg{max-width:100%;height:auto}</style></head><body>
`)
	for _, bl := range d.Blocks {
		bl.html(&b, svgs)
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

var (
	reBold = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	reCode = regexp.MustCompile("`([^`]+)`")
)

func (t Text) html() string {
	s := html.EscapeString(string(t))
	s = reBold.ReplaceAllString(s, "<strong>$1</strong>")
	return reCode.ReplaceAllString(s, "<code>$1</code>")
}

// cell is t as a Markdown table cell: one line, no column separator.
func (t Text) cell() string {
	return strings.ReplaceAll(strings.ReplaceAll(string(t), "|", "/"), "\n", " ")
}

func (h Heading) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "%s %s\n", strings.Repeat("#", h.Level), h.Text)
}

func (h Heading) html(b *strings.Builder, _ map[string][]byte) {
	fmt.Fprintf(b, "<h%d>%s</h%d>\n", h.Level, h.Text.html(), h.Level)
}

func (p Para) markdown(b *strings.Builder) { fmt.Fprintf(b, "%s\n", p.Text) }

func (p Para) html(b *strings.Builder, _ map[string][]byte) {
	fmt.Fprintf(b, "<p>%s</p>\n", p.Text.html())
}

func (q Quote) markdown(b *strings.Builder) { fmt.Fprintf(b, "> %s\n", q.Text) }

func (q Quote) html(b *strings.Builder, _ map[string][]byte) {
	fmt.Fprintf(b, "<blockquote>%s</blockquote>\n", q.Text.html())
}

func (l List) markdown(b *strings.Builder) {
	for _, it := range l.Items {
		fmt.Fprintf(b, "- %s\n", it)
	}
}

func (l List) html(b *strings.Builder, _ map[string][]byte) {
	b.WriteString("<ul>\n")
	for _, it := range l.Items {
		fmt.Fprintf(b, "<li>%s</li>\n", it.html())
	}
	b.WriteString("</ul>\n")
}

func (t Table) markdown(b *strings.Builder) {
	row := func(cells []Text) {
		b.WriteString("|")
		for _, c := range cells {
			fmt.Fprintf(b, " %s |", c.cell())
		}
		b.WriteString("\n")
	}
	row(t.Header)
	b.WriteString("|" + strings.Repeat("---|", len(t.Header)) + "\n")
	for _, r := range t.Rows {
		row(r)
	}
}

func (t Table) html(b *strings.Builder, _ map[string][]byte) {
	row := func(tag string, cells []Text) {
		b.WriteString("<tr>")
		for _, c := range cells {
			fmt.Fprintf(b, "<%s>%s</%s>", tag, c.html(), tag)
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("<table>\n")
	row("th", t.Header)
	for _, r := range t.Rows {
		row("td", r)
	}
	b.WriteString("</table>\n")
}

func (i Image) markdown(b *strings.Builder) { fmt.Fprintf(b, "![%s](%s)\n", i.Alt, i.File) }

func (i Image) html(b *strings.Builder, svgs map[string][]byte) {
	if svg, ok := svgs[i.File]; ok {
		b.WriteString(stripXMLHeader(string(svg)))
		b.WriteString("\n")
	}
}

// stripXMLHeader drops an <?xml ...?> prologue so the SVG can sit inline.
func stripXMLHeader(svg string) string {
	if i := strings.Index(svg, "<svg"); i > 0 {
		return svg[i:]
	}
	return svg
}
