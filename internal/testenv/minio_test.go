package testenv

import (
	"net/http"
	"testing"
)

func TestMinIOStopStart(t *testing.T) {
	m := MinIO(t)
	get := func() (int, error) {
		resp, err := http.Get(m.URL() + "/minio/health/ready")
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get(); err != nil || code != http.StatusOK {
		t.Fatalf("GET /minio/health/ready = %d, %v, want 200", code, err)
	}
	m.Stop()
	if _, err := get(); err == nil {
		t.Fatalf("GET after Stop = nil error, want a connection error")
	}
	m.Start()
	if code, err := get(); err != nil || code != http.StatusOK {
		t.Fatalf("GET after Start = %d, %v, want 200", code, err)
	}
}
