package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// Limits on a request.
const (
	maxBody        = 64 << 10
	requestTimeout = 30 * time.Second
)

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
	writeResponse(c, code, v)
}

// readRequest parses an HTTP/1.x request: its method, path (without a
// query) and body. A malformed one gives the status to answer with.
func readRequest(r *bufio.Reader) (method, path string, body []byte, code int, err error) {
	tp := textproto.NewReader(r)
	line, err := tp.ReadLine()
	if err != nil {
		return "", "", nil, 400, fmt.Errorf("reading the request: %v", err)
	}
	parts := strings.Fields(line)
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "HTTP/1.") {
		return "", "", nil, 400, fmt.Errorf("malformed request line %q", line)
	}
	method = parts[0]
	path, _, _ = strings.Cut(parts[1], "?")
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		return "", "", nil, 400, fmt.Errorf("malformed headers: %v", err)
	}
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
