package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"remoteidv/models"
)

// decode reads exactly one JSON object into v: the content type must be
// JSON, unknown fields and trailing data are refused, and the body cap
// (limitBody) applies.
func decode(c *gin.Context, v any) error {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/json" {
		return models.Errorf(models.EUNSUPPORTED, "Content-Type must be application/json")
	}
	return decodeJSON(c.Request.Body, v)
}

// decodeJSON is decode without the HTTP parts (and the fuzz target).
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			return models.Errorf(models.EINVALID, "request body is empty")
		case errors.As(err, &se):
			return models.Errorf(models.EINVALID, "malformed JSON at byte %d", se.Offset)
		case errors.As(err, &te):
			return models.Errorf(models.EINVALID, "field %q must be %s", te.Field, te.Type)
		default:
			return models.Errorf(models.EINVALID, "bad JSON: %s", trim(err.Error()))
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return models.Errorf(models.EINVALID, "request body must hold one JSON object")
	}
	return nil
}

func trim(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// intQuery parses an optional integer query parameter within [min, max].
func intQuery(c *gin.Context, name string, def, min, max int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	var n int
	if _, err := fmt.Sscanf(v, "%d", &n); err != nil || fmt.Sprint(n) != v || n < min || n > max {
		return 0, models.Errorf(models.EINVALID, "%s must be an integer from %d to %d", name, min, max)
	}
	return n, nil
}

// readUpload reads a raw upload body whose Content-Type is one of types.
func readUpload(c *gin.Context, types ...string) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	ok := false
	for _, t := range types {
		ok = ok || mt == t
	}
	if !ok {
		return nil, models.Errorf(models.EUNSUPPORTED, "send the file as the body with Content-Type image/jpeg, image/png or application/pdf")
	}
	return io.ReadAll(c.Request.Body)
}
