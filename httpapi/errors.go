package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
)

// statusOf is the one table from error kind to HTTP status.
var statusOf = map[models.ErrorCode]int{
	models.EINVALID:       http.StatusBadRequest,
	models.ENOTFOUND:      http.StatusNotFound,
	models.ECONFLICT:      http.StatusConflict,
	models.EUNAUTHORIZED:  http.StatusUnauthorized,
	models.EFORBIDDEN:     http.StatusForbidden,
	models.EGONE:          http.StatusGone,
	models.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	models.EUNSUPPORTED:   http.StatusUnsupportedMediaType,
	models.ERATELIMIT:     http.StatusTooManyRequests,
	models.EUNAVAILABLE:   http.StatusServiceUnavailable,
	models.EPRECONDITION:  http.StatusUnprocessableEntity,
	models.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	models.EINTERNAL:      http.StatusInternalServerError,
}

// errorBody is every error answer: a stable code and a message for people.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      models.ErrorCode `json:"code"`
	Message   string           `json:"message"`
	Details   []string         `json:"details,omitempty"`
	RequestID string           `json:"request_id"`
}

// pageError is an error answered with an HTML page instead of the JSON
// body: the customer's one 410 page, the staff's 403 page. The status is
// still statusOf's for the kind of err; render writes the page.
type pageError struct {
	err    error
	render func(c *gin.Context) error
}

func (e *pageError) Error() string { return e.err.Error() }
func (e *pageError) Unwrap() error { return e.err }

// handle adapts a handler that returns an error to Gin: the handler
// answers on success, and fail answers the error it returns. Every route
// and the route guard go through it.
func (s *Server) handle(h func(*gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			s.fail(c, err)
		}
	}
}

// errorAnswer is the status and JSON body of err. It logs internal errors
// (never the request body) and hides their text from the caller.
func (s *Server) errorAnswer(c *gin.Context, err error) (int, errorBody) {
	code := models.ErrorCodeOf(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		code, err = models.ETOOLARGE, models.Errorf(models.ETOOLARGE, "request body larger than %d bytes", mbe.Limit)
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	msg := models.ErrorMessageOf(err)
	if status >= 500 && code != models.EUNAVAILABLE {
		s.log.ErrorContext(c.Request.Context(), "request failed", "request_id", requestID(c), "route", c.FullPath(), "err", err)
		msg = "internal error; quote the request id to support"
	}
	return status, errorBody{Error: errorDetail{Code: code, Message: msg, Details: models.ErrorDetailsOf(err), RequestID: requestID(c)}}
}

// fail answers err, as its page (pageError) or as JSON, and stops the
// handler chain.
func (s *Server) fail(c *gin.Context, err error) {
	status, body := s.errorAnswer(c, err)
	var retry interface{ RetryAfter() time.Duration }
	if errors.As(err, &retry) {
		c.Header("Retry-After", strconv.Itoa(int((retry.RetryAfter()+time.Second-1)/time.Second)))
	}
	var pe *pageError
	if errors.As(err, &pe) {
		c.Header("Content-Type", "text/html; charset=utf-8")
		c.Status(status)
		if err := pe.render(c); err != nil {
			s.log.ErrorContext(c.Request.Context(), "render page", "err", err)
		}
		c.Abort()
		return
	}
	c.AbortWithStatusJSON(status, body)
}
