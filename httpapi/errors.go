package httpapi

import (
	"errors"
	"net/http"

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

// fail renders err as JSON, logging internal errors (never the request body).
func (s *Server) fail(c *gin.Context, err error) {
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
	c.AbortWithStatusJSON(status, errorBody{Error: errorDetail{Code: code, Message: msg, Details: models.ErrorDetailsOf(err), RequestID: requestID(c)}})
}
