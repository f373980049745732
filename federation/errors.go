package federation

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5/middleware"
)

// Error is a failure with the HTTP status and the short reason a client may
// see. Err is the cause, for the log only: it can name files, queries or
// peers the client has no business knowing about.
type Error struct {
	Status int
	Reason string
	Err    error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// HandlerFunc is an HTTP handler that leaves error responses to Handle.
// Every handler the Service exports for the route table is one.
type HandlerFunc func(http.ResponseWriter, *http.Request) error

// Handle adapts h to net/http, answering with the error's status and reason
// when h fails.
func (s *Service) Handle(h HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, s.log, err)
		}
	}
}

// writeError answers with err's status and reason and logs the request.
// ErrNoSuchGroup is 404; any other error that is not an *Error becomes 500
// "internal error", so nothing internal reaches the client by accident. A client that asked for any kind
// of JSON gets {"error": reason}; everyone else gets plain text.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, ErrNoSuchGroup):
		e = &Error{Status: http.StatusNotFound, Reason: "no such group", Err: err}
	default:
		e = &Error{Status: http.StatusInternalServerError, Reason: "internal error", Err: err}
	}
	attrs := []any{
		"method", r.Method,
		"path", r.URL.Path,
		"request_id", middleware.GetReqID(r.Context()),
		"status", e.Status,
		"reason", e.Reason,
	}
	if e.Err != nil {
		attrs = append(attrs, "error", e.Err.Error())
	}
	level := slog.LevelInfo
	if e.Status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	log.Log(r.Context(), level, "request failed", attrs...)

	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.Contains(r.Header.Get("Accept"), "json") {
		body, _ := json.Marshal(map[string]string{"error": e.Reason})
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(e.Status)
		w.Write(body)
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(e.Status)
	w.Write([]byte(e.Reason + "\n"))
}
