package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// Limits on a request and its answer.
const (
	maxBody        = 64 << 10
	maxRequestLine = 8 << 10 // longer: 414
	maxHeaderBlock = 8 << 10 // longer: 431
	requestTimeout = 30 * time.Second
	writeTimeout   = 10 * time.Second // a client that does not read its answer
)

// errTooLong is a line longer than its limit.
var errTooLong = errors.New("too long")

// statusText is the reason phrase of the codes the API sends.
func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 202:
		return "Accepted"
	case 204:
		return "No Content"
	case 400:
		return "Bad Request"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 409:
		return "Conflict"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 431:
		return "Request Header Fields Too Large"
	}
	return "Internal Server Error"
}

// serveConn reads one request from c, answers it and closes c.
func (s *Server) serveConn(c *net.UnixConn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(requestTimeout))
	method, path, body, code, err := readRequest(bufio.NewReader(c))
	if err != nil {
		writeResponse(c, code, apiError(err.Error()))
		return
	}
	c.SetReadDeadline(time.Time{})
	code, v := s.route(method, path, body)
	c.SetWriteDeadline(time.Now().Add(writeTimeout))
	writeResponse(c, code, v)
}

// readLine reads one line of at most limit bytes (its CRLF not counted)
// without holding more than that: a longer one is errTooLong.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > limit+2 {
			return nil, errTooLong
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return bytes.TrimRight(line, "\r\n"), nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return nil, err
		}
	}
}

// readHead reads the request line and the header block (through the
// empty line), each within its limit.
func readHead(r *bufio.Reader) (line string, hdr textproto.MIMEHeader, code int, err error) {
	l, err := readLine(r, maxRequestLine)
	switch {
	case errors.Is(err, errTooLong):
		return "", nil, 414, fmt.Errorf("a request line over %d bytes", maxRequestLine)
	case err != nil:
		return "", nil, 400, fmt.Errorf("reading the request: %v", err)
	}
	var block []byte
	for {
		h, err := readLine(r, maxHeaderBlock-len(block))
		switch {
		case errors.Is(err, errTooLong):
			return "", nil, 431, fmt.Errorf("a header block over %d bytes", maxHeaderBlock)
		case err != nil:
			return "", nil, 400, fmt.Errorf("malformed headers: %v", err)
		}
		block = append(append(block, h...), "\r\n"...)
		if len(h) == 0 {
			break
		}
	}
	hdr, err = textproto.NewReader(bufio.NewReader(bytes.NewReader(block))).ReadMIMEHeader()
	if err != nil {
		return "", nil, 400, fmt.Errorf("malformed headers: %v", err)
	}
	return string(l), hdr, 0, nil
}

// readRequest parses an HTTP/1.x request: its method, path (without a
// query) and body. A malformed one gives the status to answer with.
func readRequest(r *bufio.Reader) (method, path string, body []byte, code int, err error) {
	line, hdr, code, err := readHead(r)
	if err != nil {
		return "", "", nil, code, err
	}
	parts := strings.Fields(line)
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "HTTP/1.") {
		return "", "", nil, 400, fmt.Errorf("malformed request line %.80q", line)
	}
	method = parts[0]
	path, _, _ = strings.Cut(parts[1], "?")
	if te := hdr.Get("Transfer-Encoding"); te != "" {
		return "", "", nil, 400, fmt.Errorf("Transfer-Encoding %q: send a Content-Length", te)
	}
	if cl := hdr.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		switch {
		case err != nil || n < 0:
			return "", "", nil, 400, fmt.Errorf("Content-Length %q", cl)
		case n > maxBody:
			return "", "", nil, 413, fmt.Errorf("a body of %d bytes; at most %d", n, maxBody)
		}
		body = make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return "", "", nil, 400, fmt.Errorf("reading the body: %v", err)
		}
	}
	return method, path, body, 0, nil
}

// writeResponse sends status code with v as JSON (nil: no body), then the
// connection closes.
func writeResponse(w io.Writer, code int, v any) {
	var body []byte
	if v != nil {
		body, _ = json.Marshal(v)
		body = append(body, '\n')
	}
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", code, statusText(code), len(body))
	w.Write(body)
}
