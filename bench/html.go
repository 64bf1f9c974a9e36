package bench

import (
	"bytes"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// WriteReports writes results.json, the charts (SVG and PNG), report.md
// and a self-contained report.html (charts inline) into dir.
func WriteReports(dir string, r *Results) error {
	if err := WriteResults(filepath.Join(dir, "results.json"), r); err != nil {
		return err
	}
	svgs := map[string][]byte{}
	for _, c := range Charts(r) {
		svg, err := c.Save(dir)
		if err != nil {
			return fmt.Errorf("chart %s: %w", c.Name, err)
		}
		svgs[c.Name+".svg"] = svg
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.html"), []byte(MarkdownToHTML(md.String(), svgs)), 0o644)
}

var (
	reImage = regexp.MustCompile(`^!\[([^\]]*)\]\(([^)]+)\)$`)
	reBold  = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	reCode  = regexp.MustCompile("`([^`]+)`")
)

// MarkdownToHTML renders the subset of Markdown the report uses
// (headings, quotes, lists, tables, images, bold, code) as one HTML page;
// an image whose file is in svgs is put inline, so the page needs no
// other file and no network.
func MarkdownToHTML(md string, svgs map[string][]byte) string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>vmm bench report</title><style>
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top}
th{background:#f3f3f3}blockquote{background:#fff4d6;border-left:4px solid #e0a800;margin:1rem 0;padding:.5rem 1rem}
code{background:#f3f3f3;padding:0 .2rem}svg{max-width:100%;height:auto}</style></head><body>
`)
	inTable, inList := false, false
	closeBlocks := func() {
		if inTable {
			b.WriteString("</table>\n")
			inTable = false
		}
		if inList {
			b.WriteString("</ul>\n")
			inList = false
		}
	}
	for _, line := range strings.Split(md, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "|"):
			if inList {
				b.WriteString("</ul>\n")
				inList = false
			}
			cells := strings.Split(strings.Trim(t, "|"), "|")
			if strings.Trim(strings.Join(cells, ""), "-: ") == "" {
				continue // the separator row
			}
			tag := "td"
			if !inTable {
				b.WriteString("<table>\n")
				inTable, tag = true, "th"
			}
			b.WriteString("<tr>")
			for _, c := range cells {
				fmt.Fprintf(&b, "<%s>%s</%s>", tag, inline(strings.TrimSpace(c)), tag)
			}
			b.WriteString("</tr>\n")
		case strings.HasPrefix(t, "- "):
			if inTable {
				b.WriteString("</table>\n")
				inTable = false
			}
			if !inList {
				b.WriteString("<ul>\n")
				inList = true
			}
			fmt.Fprintf(&b, "<li>%s</li>\n", inline(t[2:]))
		default:
			closeBlocks()
			switch {
			case t == "":
			case strings.HasPrefix(t, "### "):
				fmt.Fprintf(&b, "<h3>%s</h3>\n", inline(t[4:]))
			case strings.HasPrefix(t, "## "):
				fmt.Fprintf(&b, "<h2>%s</h2>\n", inline(t[3:]))
			case strings.HasPrefix(t, "# "):
				fmt.Fprintf(&b, "<h1>%s</h1>\n", inline(t[2:]))
			case strings.HasPrefix(t, "> "):
				fmt.Fprintf(&b, "<blockquote>%s</blockquote>\n", inline(t[2:]))
			case reImage.MatchString(t):
				m := reImage.FindStringSubmatch(t)
				if svg, ok := svgs[m[2]]; ok {
					b.WriteString(stripXMLHeader(string(svg)))
					b.WriteString("\n")
				}
			default:
				fmt.Fprintf(&b, "<p>%s</p>\n", inline(t))
			}
		}
	}
	closeBlocks()
	b.WriteString("</body></html>\n")
	return b.String()
}

func inline(s string) string {
	s = html.EscapeString(s)
	s = reBold.ReplaceAllString(s, "<strong>$1</strong>")
	return reCode.ReplaceAllString(s, "<code>$1</code>")
}

// stripXMLHeader drops an <?xml ...?> prologue so the SVG can sit inline.
func stripXMLHeader(svg string) string {
	if i := strings.Index(svg, "<svg"); i > 0 {
		return svg[i:]
	}
	return svg
}
