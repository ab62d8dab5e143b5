package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"

	"remoteidv/models"
)

// secretPrefix starts a secret as Standard Webhooks libraries take it:
// "whsec_" and the base64 of the key bytes.
const secretPrefix = "whsec_"

// Secret lengths in bytes (Standard Webhooks asks for 24 to 64).
const (
	minSecret = 24
	maxSecret = 64
	newSecret = 32
)

// FormatSecret writes key bytes as a whsec_ secret.
func FormatSecret(key []byte) string { return secretPrefix + base64.StdEncoding.EncodeToString(key) }

// ParseSecret reads a whsec_ secret into its key bytes.
func ParseSecret(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, secretPrefix))
	if err != nil {
		return nil, models.Errorf(models.EINVALID, "secret must be whsec_ followed by base64")
	}
	if len(b) < minSecret || len(b) > maxSecret {
		return nil, models.Errorf(models.EINVALID, "secret must hold %d to %d bytes, not %d", minSecret, maxSecret, len(b))
	}
	return b, nil
}

// Sign returns the webhook-signature header value for a delivery: "v1,"
// and the base64 HMAC-SHA256, under key, of "id.timestamp.body" where
// timestamp is the webhook-timestamp header (Unix seconds).
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}
